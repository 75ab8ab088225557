//! Which language a file is written in, by name and extension, and the names users type
//! for it in `lang:` filters.

use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Rust,
    Python,
    JavaScript,
    TypeScript,
    Tsx,
    Go,
    Java,
    C,
    Cpp,
    CSharp,
    Ruby,
    Php,
    Bash,
    Markdown,
    Json,
    Yaml,
    Toml,
    Html,
    Css,
    Sql,
    Kotlin,
    Swift,
    Scala,
    Lua,
    Text,
}

/// (language, stable name, aliases accepted by `lang:`).
const NAMES: &[(Language, &str, &[&str])] = &[
    (Language::Rust, "rust", &["rs"]),
    (Language::Python, "python", &["py", "python3"]),
    (
        Language::JavaScript,
        "javascript",
        &["js", "jsx", "node", "mjs"],
    ),
    (Language::TypeScript, "typescript", &["ts"]),
    (Language::Tsx, "tsx", &[]),
    (Language::Go, "go", &["golang"]),
    (Language::Java, "java", &[]),
    (Language::C, "c", &["h"]),
    (Language::Cpp, "cpp", &["c++", "cxx", "cc", "hpp"]),
    (Language::CSharp, "csharp", &["c#", "cs"]),
    (Language::Ruby, "ruby", &["rb"]),
    (Language::Php, "php", &[]),
    (Language::Bash, "bash", &["sh", "shell", "zsh"]),
    (Language::Markdown, "markdown", &["md"]),
    (Language::Json, "json", &[]),
    (Language::Yaml, "yaml", &["yml"]),
    (Language::Toml, "toml", &[]),
    (Language::Html, "html", &["htm"]),
    (Language::Css, "css", &["scss", "less"]),
    (Language::Sql, "sql", &[]),
    (Language::Kotlin, "kotlin", &["kt"]),
    (Language::Swift, "swift", &[]),
    (Language::Scala, "scala", &[]),
    (Language::Lua, "lua", &[]),
    (Language::Text, "text", &["txt", "plain"]),
];

impl Language {
    /// The stable lowercase id stored in the database and shown to users.
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(lang, _, _)| *lang == self)
            .map_or("text", |(_, name, _)| name)
    }

    /// Every language's stable name with the aliases `lang:` accepts, in a fixed order
    /// (the UI's query completion offers exactly these).
    pub fn names_and_aliases() -> impl Iterator<Item = (&'static str, &'static [&'static str])> {
        NAMES.iter().map(|(_, name, aliases)| (*name, *aliases))
    }

    /// Parses a `lang:` value: the name or an alias, case-insensitive.
    pub fn from_name(s: &str) -> Option<Language> {
        let s = s.to_ascii_lowercase();
        NAMES
            .iter()
            .find(|(_, name, aliases)| *name == s || aliases.contains(&s.as_str()))
            .map(|(lang, _, _)| *lang)
    }

    /// Whether a tree-sitter grammar cuts this language into definitions.
    pub fn has_grammar(self) -> bool {
        use Language::*;
        matches!(
            self,
            Rust | Python
                | JavaScript
                | TypeScript
                | Tsx
                | Go
                | Java
                | C
                | Cpp
                | CSharp
                | Ruby
                | Php
                | Bash
        )
    }
}

/// The language of a file, from its name and extension; unknown files are `Text`.
pub fn detect_language(path: &Path) -> Language {
    use Language::*;
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    match file_name {
        "Makefile" | "makefile" | "Dockerfile" => return Text,
        ".bashrc" | ".bash_profile" | ".profile" | ".zshrc" | "PKGBUILD" => return Bash,
        "Gemfile" | "Rakefile" | "Vagrantfile" => return Ruby,
        _ => {}
    }
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "rs" => Rust,
        "py" | "pyi" | "pyw" => Python,
        "js" | "jsx" | "mjs" | "cjs" => JavaScript,
        "ts" | "mts" | "cts" => TypeScript,
        "tsx" => Tsx,
        "go" => Go,
        "java" => Java,
        "c" | "h" => C,
        "cc" | "cpp" | "cxx" | "c++" | "hpp" | "hh" | "hxx" | "h++" | "ipp" | "tpp" => Cpp,
        "cs" => CSharp,
        "rb" | "rake" | "gemspec" => Ruby,
        "php" | "phtml" => Php,
        "sh" | "bash" | "zsh" | "ksh" => Bash,
        "md" | "markdown" | "mdx" => Markdown,
        "json" | "jsonc" => Json,
        "yaml" | "yml" => Yaml,
        "toml" => Toml,
        "html" | "htm" | "vue" | "svelte" => Html,
        "css" | "scss" | "sass" | "less" => Css,
        "sql" => Sql,
        "kt" | "kts" => Kotlin,
        "swift" => Swift,
        "scala" | "sc" => Scala,
        "lua" => Lua,
        _ => Text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_extension_and_name() {
        for (path, lang) in [
            ("src/main.rs", Language::Rust),
            ("a/b.PY", Language::Python),
            ("x.tsx", Language::Tsx),
            ("x.mjs", Language::JavaScript),
            ("inc/x.h", Language::C),
            ("x.hpp", Language::Cpp),
            ("x.cs", Language::CSharp),
            ("Gemfile", Language::Ruby),
            ("run.sh", Language::Bash),
            ("README.md", Language::Markdown),
            ("LICENSE", Language::Text),
        ] {
            assert_eq!(detect_language(Path::new(path)), lang, "{path}");
        }
    }

    #[test]
    fn names_and_aliases_round_trip() {
        for (lang, name, aliases) in NAMES {
            assert_eq!(lang.name(), *name);
            assert_eq!(Language::from_name(name), Some(*lang));
            for alias in *aliases {
                assert_eq!(Language::from_name(alias), Some(*lang), "{alias}");
            }
        }
        assert_eq!(Language::from_name("C#"), Some(Language::CSharp));
        assert_eq!(Language::from_name("TS"), Some(Language::TypeScript));
        assert_eq!(Language::from_name("klingon"), None);
    }
}
