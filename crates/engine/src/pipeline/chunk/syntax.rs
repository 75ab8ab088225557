//! Finding definitions with tree-sitter: which node kinds are definitions in each grammar,
//! which of them contain other definitions, and how to read their names.
//!
//! The walk is deliberately generic: any node that is not a definition is looked through
//! (export statements, decorators, template declarations, namespace bodies), so grammar
//! details only show up in the tables below and in [`node_name`].

use std::cell::RefCell;
use std::collections::HashMap;

use tree_sitter::{Node, Parser};

use super::Language;

/// A definition found in the syntax tree, with 0-based inclusive rows.
#[derive(Debug, Clone)]
pub struct Def {
    pub start_row: usize,
    pub end_row: usize,
    pub kind: &'static str,
    pub symbol: String,
    pub children: Vec<Def>,
}

/// Files larger than this are cut into line windows without parsing; tree-sitter would
/// manage, but the chunks of a generated megabyte file are not worth the time.
const MAX_PARSE_BYTES: usize = 2 * 1024 * 1024;
/// Parsing gives up after this long (pathological input) and falls back to line windows.
const PARSE_TIMEOUT_MICROS: u64 = 2_000_000;

thread_local! {
    /// Parsers are not `Sync`; one per language per thread lets chunking run in parallel.
    static PARSERS: RefCell<HashMap<Language, Parser>> = RefCell::new(HashMap::new());
}

fn grammar(language: Language) -> Option<tree_sitter::Language> {
    use Language::*;
    Some(match language {
        Rust => tree_sitter_rust::LANGUAGE.into(),
        Python => tree_sitter_python::LANGUAGE.into(),
        JavaScript => tree_sitter_javascript::LANGUAGE.into(),
        TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
        Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
        Go => tree_sitter_go::LANGUAGE.into(),
        Java => tree_sitter_java::LANGUAGE.into(),
        C => tree_sitter_c::LANGUAGE.into(),
        Cpp => tree_sitter_cpp::LANGUAGE.into(),
        CSharp => tree_sitter_c_sharp::LANGUAGE.into(),
        Ruby => tree_sitter_ruby::LANGUAGE.into(),
        Php => tree_sitter_php::LANGUAGE_PHP.into(),
        Bash => tree_sitter_bash::LANGUAGE.into(),
        _ => return None,
    })
}

/// Maps a node kind to the definition kind it stands for, and whether it contains
/// definitions worth their own chunks (classes, impls, modules).
fn definition_kind(language: Language, node_kind: &str) -> Option<(&'static str, bool)> {
    use Language::*;
    let found = match (language, node_kind) {
        (Rust, "function_item" | "function_signature_item") => ("function", false),
        (Rust, "struct_item" | "union_item") => ("struct", false),
        (Rust, "enum_item") => ("enum", false),
        (Rust, "trait_item") => ("trait", true),
        (Rust, "impl_item") => ("impl", true),
        (Rust, "mod_item") => ("module", true),
        (Rust, "macro_definition") => ("macro", false),
        (Rust, "type_item") => ("type", false),
        (Rust, "const_item" | "static_item") => ("const", false),
        (Python, "function_definition") => ("function", false),
        (Python, "class_definition") => ("class", true),
        (
            JavaScript | TypeScript | Tsx,
            "function_declaration" | "generator_function_declaration" | "function_signature",
        ) => ("function", false),
        (
            JavaScript | TypeScript | Tsx,
            "class_declaration" | "abstract_class_declaration" | "class",
        ) => ("class", true),
        (JavaScript | TypeScript | Tsx, "method_definition") => ("method", false),
        (TypeScript | Tsx, "interface_declaration") => ("interface", false),
        (TypeScript | Tsx, "type_alias_declaration") => ("type", false),
        (TypeScript | Tsx, "enum_declaration") => ("enum", false),
        (TypeScript | Tsx, "internal_module" | "module") => ("module", true),
        (Go, "function_declaration") => ("function", false),
        (Go, "method_declaration") => ("method", false),
        (Go, "type_declaration") => ("type", false),
        (Java, "class_declaration" | "record_declaration") => ("class", true),
        (Java, "interface_declaration" | "annotation_type_declaration") => ("interface", true),
        (Java, "enum_declaration") => ("enum", true),
        (
            Java,
            "method_declaration" | "constructor_declaration" | "compact_constructor_declaration",
        ) => ("method", false),
        (C | Cpp, "function_definition") => ("function", false),
        (C, "struct_specifier" | "union_specifier") => ("struct", false),
        (C | Cpp, "enum_specifier") => ("enum", false),
        (C | Cpp, "type_definition") => ("type", false),
        (Cpp, "class_specifier" | "struct_specifier" | "union_specifier") => ("class", true),
        (Cpp, "namespace_definition") => ("module", true),
        (
            CSharp,
            "class_declaration"
            | "struct_declaration"
            | "record_declaration"
            | "record_struct_declaration",
        ) => ("class", true),
        (CSharp, "interface_declaration") => ("interface", true),
        (CSharp, "enum_declaration") => ("enum", false),
        (CSharp, "namespace_declaration" | "file_scoped_namespace_declaration") => ("module", true),
        (
            CSharp,
            "method_declaration"
            | "constructor_declaration"
            | "destructor_declaration"
            | "operator_declaration"
            | "local_function_statement",
        ) => ("method", false),
        (CSharp, "property_declaration") => ("property", false),
        (Ruby, "method" | "singleton_method") => ("method", false),
        (Ruby, "class" | "singleton_class") => ("class", true),
        (Ruby, "module") => ("module", true),
        (Php, "function_definition") => ("function", false),
        (Php, "method_declaration") => ("method", false),
        (Php, "class_declaration" | "trait_declaration" | "enum_declaration") => ("class", true),
        (Php, "interface_declaration") => ("interface", true),
        (Php, "namespace_definition") => ("module", true),
        (Bash, "function_definition") => ("function", false),
        _ => return None,
    };
    Some(found)
}

/// JavaScript/TypeScript `const name = () => ...` and `name = function () {}`: the
/// declarator's name, when its value is a function.
fn variable_function_name(node: Node, source: &[u8]) -> Option<String> {
    if !matches!(node.kind(), "lexical_declaration" | "variable_declaration") {
        return None;
    }
    let mut cursor = node.walk();
    let found = node.named_children(&mut cursor).find_map(|child| {
        let value = child.child_by_field_name("value")?;
        matches!(
            value.kind(),
            "arrow_function" | "function_expression" | "function" | "generator_function"
        )
        .then(|| child.child_by_field_name("name"))
        .flatten()
        .map(|name| text(name, source).to_string())
    });
    found
}

fn text<'a>(node: Node, source: &'a [u8]) -> &'a str {
    std::str::from_utf8(&source[node.byte_range()]).unwrap_or("")
}

/// The name of a definition node: the `name` field in most grammars; Rust impls use their
/// type; C and C++ functions bury the name inside declarators; Go types inside a spec.
fn node_name(node: Node, source: &[u8]) -> Option<String> {
    if node.kind() == "impl_item" {
        let ty = node
            .child_by_field_name("type")
            .map(|t| text(t, source).to_string())?;
        return Some(match node.child_by_field_name("trait") {
            Some(tr) => format!("{} for {ty}", text(tr, source)),
            None => ty,
        });
    }
    if let Some(name) = node.child_by_field_name("name") {
        return Some(text(name, source).to_string());
    }
    if node.kind() == "type_declaration" {
        let mut cursor = node.walk();
        let spec = node
            .named_children(&mut cursor)
            .find(|c| c.kind() == "type_spec")?;
        return spec
            .child_by_field_name("name")
            .map(|n| text(n, source).to_string());
    }
    // C/C++ function definitions and typedefs: walk down the declarator chain.
    let mut declarator = node.child_by_field_name("declarator")?;
    for _ in 0..8 {
        match declarator.kind() {
            "identifier"
            | "field_identifier"
            | "type_identifier"
            | "qualified_identifier"
            | "destructor_name"
            | "operator_name"
            | "primitive_type" => {
                return Some(text(declarator, source).to_string());
            }
            _ => declarator = declarator.child_by_field_name("declarator")?,
        }
    }
    None
}

/// Parses `source` and returns its top-level definitions (with nested ones under their
/// containers), or `None` when the language has no grammar or parsing failed.
pub fn definitions(language: Language, source: &str) -> Option<Vec<Def>> {
    if source.len() > MAX_PARSE_BYTES {
        return None;
    }
    let grammar = grammar(language)?;
    let tree = PARSERS.with(|parsers| {
        let mut parsers = parsers.borrow_mut();
        let parser = match parsers.entry(language) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let mut parser = Parser::new();
                parser.set_language(&grammar).ok()?;
                #[allow(deprecated)]
                parser.set_timeout_micros(PARSE_TIMEOUT_MICROS);
                e.insert(parser)
            }
        };
        let tree = parser.parse(source, None);
        if tree.is_none() {
            parser.reset();
        }
        tree
    })?;
    let separator = match language {
        Language::Rust | Language::Cpp | Language::Php => "::",
        _ => ".",
    };
    let mut defs = Vec::new();
    collect(
        language,
        tree.root_node(),
        source.as_bytes(),
        None,
        separator,
        &mut defs,
        0,
    );
    Some(defs)
}

fn end_row(node: Node) -> usize {
    let end = node.end_position();
    // A node that ends at column 0 ends on the line before (its trailing newline).
    if end.column == 0 && end.row > node.start_position().row {
        end.row - 1
    } else {
        end.row
    }
}

fn collect(
    language: Language,
    node: Node,
    source: &[u8],
    parent: Option<&str>,
    separator: &str,
    out: &mut Vec<Def>,
    depth: usize,
) {
    if depth > 64 {
        return; // deeply nested code: the enclosing chunk covers it
    }
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        let bodiless_type = matches!(
            child.kind(),
            "struct_specifier" | "union_specifier" | "enum_specifier" | "class_specifier"
        ) && child.child_by_field_name("body").is_none();
        let kind = definition_kind(language, child.kind())
            .filter(|_| !bodiless_type)
            .or_else(|| variable_function_name(child, source).map(|_| ("function", false)));
        let Some((kind, is_container)) = kind else {
            // Not a definition: look inside (export statements, decorators, bodies...).
            // Function bodies are not entered, so local helpers stay with their function.
            collect(language, child, source, parent, separator, out, depth + 1);
            continue;
        };
        let name = node_name(child, source)
            .or_else(|| variable_function_name(child, source))
            .unwrap_or_default();
        let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
        let symbol = match (parent, name.is_empty()) {
            (Some(p), false) => format!("{p}{separator}{name}"),
            (Some(p), true) => p.to_string(),
            (None, _) => name,
        };
        let mut children = Vec::new();
        if is_container {
            let qualifier = if symbol.is_empty() {
                None
            } else {
                Some(symbol.as_str())
            };
            collect(
                language,
                child,
                source,
                qualifier,
                separator,
                &mut children,
                depth + 1,
            );
        }
        out.push(Def {
            start_row: child.start_position().row,
            end_row: end_row(child),
            kind,
            symbol,
            children,
        });
    }
}
