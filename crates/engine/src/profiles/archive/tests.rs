use super::*;

/// A gzipped tar of `entries` (path, type, declared size, data) written the way an
/// attacker would, with any header the tar format allows.
fn craft(path: &Path, entries: &[(&[u8], tar::EntryType, u64, &[u8])]) {
    let gz =
        flate2::write::GzEncoder::new(File::create(path).unwrap(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(gz);
    for (name, kind, size, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.set_entry_type(*kind);
        header.set_size(*size);
        header.set_mode(0o600);
        if *kind == tar::EntryType::Symlink {
            header.set_link_name("/etc/passwd").unwrap();
        }
        header.set_cksum();
        builder.append(&header, *data).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap();
}

/// No staging directory is left behind by a refused import.
fn assert_no_staging_left(data_root: &Path) {
    let left: Vec<_> = std::fs::read_dir(data_root.join("user_data"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left behind: {left:?}");
}

fn refused(data_root: &Path, file: &Path) -> String {
    let err = unpack(data_root, file, 1 << 30).err().expect("refused");
    assert_eq!(err.kind(), crate::ErrorKind::Refused, "{err}");
    assert_no_staging_left(data_root);
    let text = err.to_string();
    assert!(text.contains("nothing was changed"), "{text}");
    text
}

#[test]
fn long_name_pax_and_link_entries_are_refused_before_their_contents_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("x.tar.gz");
    // A long-name header that says its name is 4 GiB long (and is not): the tar reader
    // would read it whole into memory before the name check could see it.
    let cases: [(&[u8], tar::EntryType, &str); 4] = [
        (
            b"././@LongLink",
            tar::EntryType::GNULongName,
            "long-name header",
        ),
        (
            b"ferret-profile/PaxHeader",
            tar::EntryType::XHeader,
            "PAX header",
        ),
        (
            b"ferret-profile/meta.sqlite",
            tar::EntryType::Symlink,
            "symbolic link",
        ),
        (
            b"ferret-profile/meta.sqlite",
            tar::EntryType::Link,
            "hard link",
        ),
    ];
    for (name, kind, why) in cases {
        craft(&file, &[(name, kind, 4 << 30, b"")]);
        let err = refused(&data, &file);
        assert!(err.contains(why), "{why}: {err}");
    }
}

#[test]
fn a_compression_bomb_stops_early_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("bomb.tar.gz");
    // 512 MiB of zeros under a name the importer accepts, within the size limit: a few
    // megabytes compressed at most.
    let size: u64 = 512 << 20;
    {
        let gz = flate2::write::GzEncoder::new(
            File::create(&file).unwrap(),
            flate2::Compression::fast(),
        );
        let mut builder = tar::Builder::new(gz);
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o600);
        header.set_cksum();
        builder
            .append_data(
                &mut header,
                format!("{TOP}/{META_DB}"),
                std::io::repeat(0).take(size),
            )
            .unwrap();
        builder.into_inner().unwrap().finish().unwrap();
    }
    assert!(std::fs::metadata(&file).unwrap().len() < size / 100);
    let err = refused(&data, &file);
    assert!(err.contains("compression bomb"), "{err}");
}

#[test]
fn a_newer_archive_format_is_named_as_such_even_when_its_manifest_changed_shape() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("newer.tar.gz");
    let manifest = format!(r#"{{"format": {}, "files": "a newer shape"}}"#, FORMAT + 1);
    craft(
        &file,
        &[(
            b"ferret-profile/manifest.json",
            tar::EntryType::Regular,
            manifest.len() as u64,
            manifest.as_bytes(),
        )],
    );
    let err = refused(&data, &file);
    assert!(
        err.contains("newer Ferret") && err.contains("upgrade Ferret"),
        "{err}"
    );
}

#[test]
fn an_export_is_owner_only_and_never_written_through_a_planted_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let paths = ProfilePaths::new(&data, "p").unwrap();
    paths.ensure_dirs().unwrap();
    Store::open(&paths.meta_db()).unwrap();
    let record = ProfileRecord {
        id: "p".into(),
        kind: ProfileKind::Local,
        display_name: "p".into(),
        github_login: None,
        github_user_id: None,
        api_url: None,
        status: super::super::registry::ProfileStatus::Active,
        created_at: 0,
        last_used_at: None,
    };
    let out = dir.path().join("p.tar.gz");
    export(&data, &record, &paths, &out).unwrap();
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");

    // A symlink someone placed where the partial file goes: the export fails, and the
    // file it points at is untouched.
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "keep me").unwrap();
    let partial = dir
        .path()
        .join(format!("again.tar.gz.partial-{}", std::process::id()));
    std::os::unix::fs::symlink(&victim, &partial).unwrap();
    let err = export(&data, &record, &paths, &dir.path().join("again.tar.gz"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("remove it and export again"), "{err}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
}

#[test]
fn commit_ids_are_full_lowercase_hex() {
    assert!(is_commit_id(&"a".repeat(40)));
    assert!(is_commit_id(&"0".repeat(64)));
    for bad in ["", "abc", &"A".repeat(40), &"é".repeat(20), &"g".repeat(40)] {
        assert!(!is_commit_id(bad), "{bad:?}");
    }
}
