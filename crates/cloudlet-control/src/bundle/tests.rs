use super::*;

fn tar_of(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, content, mode) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(*mode);
        header.set_cksum();
        builder.append_data(&mut header, path, *content).expect("append");
    }
    builder.into_inner().expect("tar")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

#[test]
fn a_tar_bundle_unpacks_with_modes_and_digests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = tar_of(&[("cloudlet.toml", b"name = \"a\"", 0o644), ("./bin/run.sh", b"#!/bin/sh\n", 0o755)]);
    let unpacked = unpack(&gzip(&bytes), dir.path(), BundleLimits::default()).expect("unpack");
    assert_eq!(unpacked.manifest, "name = \"a\"");
    let mode = fs::metadata(dir.path().join("bin/run.sh")).expect("file").permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
    assert_eq!(unpacked.digest.len(), 64);

    let other = tempfile::tempdir().expect("tempdir");
    let changed_manifest = tar_of(&[("cloudlet.toml", b"name = \"b\"", 0o644), ("bin/run.sh", b"#!/bin/sh\n", 0o755)]);
    let again = unpack(&changed_manifest, other.path(), BundleLimits::default()).expect("unpack");
    assert_ne!(again.digest, unpacked.digest);
    assert_eq!(again.files_digest, unpacked.files_digest, "only the manifest changed");
}

#[test]
fn a_plain_manifest_is_a_bundle_of_one_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let unpacked = unpack(b"name = \"x\"\n", dir.path(), BundleLimits::default()).expect("unpack");
    assert_eq!(unpacked.manifest, "name = \"x\"\n");
    assert!(dir.path().join(MANIFEST).is_file());
}

#[test]
fn escaping_paths_links_and_missing_manifests_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(1);
    header.set_mode(0o644);
    header.set_cksum();
    // `append_data` refuses "..", so write the raw name the way a hostile archive would.
    header.as_gnu_mut().expect("gnu").name[..9].copy_from_slice(b"../evil.x");
    header.set_cksum();
    builder.append(&header, &b"x"[..]).expect("append");
    let escaping = builder.into_inner().expect("tar");
    assert!(matches!(unpack(&escaping, dir.path(), BundleLimits::default()), Err(BundleError::BadEntry(_))));
    assert!(!dir.path().parent().expect("parent").join("evil.x").exists());

    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Symlink);
    header.set_size(0);
    header.set_cksum();
    builder.append_link(&mut header, "link", "/etc/passwd").expect("link");
    let linked = builder.into_inner().expect("tar");
    assert!(matches!(unpack(&linked, dir.path(), BundleLimits::default()), Err(BundleError::BadEntry(_))));

    let empty = tempfile::tempdir().expect("tempdir");
    let no_manifest = tar_of(&[("app.py", b"print()", 0o644)]);
    assert!(matches!(unpack(&no_manifest, empty.path(), BundleLimits::default()), Err(BundleError::NoManifest)));
}

#[test]
fn limits_stop_large_bundles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big = vec![0u8; 4096];
    let bytes = tar_of(&[("cloudlet.toml", b"name = \"a\"", 0o644), ("big", &big, 0o644)]);
    let limits = BundleLimits { max_bytes: 1024, max_files: 10 };
    assert!(matches!(unpack(&gzip(&bytes), dir.path(), limits), Err(BundleError::TooLarge(1024))));
    let limits = BundleLimits { max_bytes: 1 << 20, max_files: 1 };
    assert!(matches!(unpack(&bytes, dir.path(), limits), Err(BundleError::TooManyFiles(1))));

    // Directories and repeated names count too.
    let mut builder = tar::Builder::new(Vec::new());
    for i in 0..50 {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_size(0);
        header.set_mode(0o755);
        header.set_cksum();
        builder.append_data(&mut header, format!("d{i}"), &[][..]).expect("dir");
    }
    let directories = builder.into_inner().expect("tar");
    let limits = BundleLimits { max_bytes: 1 << 20, max_files: 10 };
    assert!(matches!(unpack(&directories, dir.path(), limits), Err(BundleError::TooManyFiles(10))));

    // A gzip bomb stops at the cap, however small the upload.
    let fresh = tempfile::tempdir().expect("tempdir");
    let zeros = vec![0u8; 8 << 20];
    let bomb = gzip(&tar_of(&[("cloudlet.toml", b"name = \"a\"", 0o644), ("zeros", &zeros, 0o644)]));
    assert!(bomb.len() < 64 << 10);
    let limits = BundleLimits { max_bytes: 1 << 20, max_files: 10 };
    assert!(matches!(unpack(&bomb, fresh.path(), limits), Err(BundleError::TooLarge(_))));
    assert!(!fresh.path().join("zeros").exists(), "nothing past the cap is written");
}
