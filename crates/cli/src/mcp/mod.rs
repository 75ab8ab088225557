//! `ferret mcp`: the profile's index for coding agents, over the Model Context Protocol.
//!
//! An MCP server on stdio (newline-delimited JSON-RPC), built on the official Rust SDK
//! (`rmcp`), which negotiates the protocol revision with the client. It is a shell like
//! the CLI: the protocol is rmcp's, the answers are the engine's, and this module only
//! turns tool arguments into engine calls ([`tools`]) and results into compact text for a
//! model to read ([`render`]).
//!
//! Promises an agent can rely on:
//! - **Read-only.** Nothing here writes to the profile except the usage counters a search
//!   bumps; indexing stays with the app or `ferret daemon`.
//! - **One profile.** The server opens exactly the profile it was started for
//!   (`--profile`, else the current one); another profile's code never appears.
//! - **Answers at once.** The embedding model loads on a thread at start; until it is
//!   ready a hybrid search answers from the lexical index and says so.
//! - **Never hangs.** Every call runs off the protocol thread with a time limit
//!   ([`CALL_TIME_LIMIT`]); a cancelled request stops waiting; a failure is a tool error
//!   with a message that says what to do, never a crash. The server exits when its client
//!   closes stdin.

mod render;
mod tools;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use ferret_engine::Engine;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData as McpError, ServerHandler, ServiceExt};

use ferret_engine::links::agents::AgentClient;

/// Longest a tool call may take before it is answered with a timeout error (well under the
/// 15 s agents tend to allow).
const CALL_TIME_LIMIT: Duration = Duration::from_secs(10);

#[derive(Args)]
pub struct McpArgs {
    /// Print the configuration that connects CLIENT (claude-code, cursor, vscode, zed) to
    /// this profile, then exit.
    #[arg(long, value_name = "CLIENT")]
    pub print_config: Option<AgentClient>,
}

/// The server: one open profile.
struct FerretMcp {
    engine: Arc<Engine>,
    started: Instant,
}

/// Runs the server on stdin/stdout until the client goes away.
pub fn serve(engine: Arc<Engine>) -> anyhow::Result<()> {
    // Load the model meanwhile: the first hybrid search should not wait for it.
    let warm = engine.clone();
    let warming = std::thread::Builder::new()
        .name("ferret-mcp-model".into())
        .spawn(move || {
            if let Err(e) = warm.embedder() {
                log::warn!("semantic search unavailable, lexical only: {e}");
            }
        })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let server = FerretMcp {
            engine,
            started: Instant::now(),
        };
        let running = server.serve(rmcp::transport::stdio()).await?;
        running.waiting().await?;
        anyhow::Ok(())
    })?;
    // ONNX Runtime's exit handlers free memory that a session still being built uses, so
    // exiting while the model loads kills the process with SIGSEGV (a client that closes
    // stdin within a second of starting us hit that). Loading takes a second or two: wait.
    let _ = warming.join();
    // Blocking engine calls still running (a search past its time limit) must not keep
    // the process alive once the client is gone.
    runtime.shutdown_timeout(Duration::from_millis(500));
    Ok(())
}

impl ServerHandler for FerretMcp {
    #[allow(deprecated)]
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("ferret", env!("CARGO_PKG_VERSION")))
            .with_instructions(format!(
                "Ferret searches the code of profile {:?} on this machine, by meaning and by \
                 words at once. Start with `search` (a question in plain words, or names); \
                 read more of a hit with `read_code`; `list_repos` names the repositories \
                 and `index_status` says whether the index is complete.",
                self.engine.profile_id()
            ))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(tools::definitions()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let name = request.name.to_string();
        let arguments = serde_json::Value::Object(request.arguments.unwrap_or_default());
        let engine = self.engine.clone();
        let loading_for = self.started.elapsed();
        let call = tokio::task::spawn_blocking(move || {
            tools::call(&engine, &name, arguments, loading_for)
        });
        let outcome = tokio::select! {
            joined = tokio::time::timeout(CALL_TIME_LIMIT, call) => match joined {
                Ok(Ok(result)) => result,
                Ok(Err(panic)) => Err(format!("the tool failed unexpectedly ({panic}); try again")),
                Err(_) => Err(format!(
                    "no answer within {} s (the index may be busy with a large write); try \
                     again, or narrow the query with repo: or path:",
                    CALL_TIME_LIMIT.as_secs()
                )),
            },
            () = context.ct.cancelled() => Err("cancelled by the client".to_string()),
        };
        Ok(match outcome {
            Ok(text) => CallToolResult::success(vec![ContentBlock::text(text)]),
            Err(message) => CallToolResult::error(vec![ContentBlock::text(message)]),
        }
        .into())
    }
}
