//! Compiled code on disk, so a restart or a redeploy of the same bytes does not compile again.
//!
//! An entry is keyed by the SHA-256 of the WebAssembly bytes, their kind (component or module) and
//! the engine's compatibility hash (wasmtime version and settings), and written atomically. An entry
//! that fails to load (from another wasmtime, say) is compiled again and replaced.

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The compile cache of one node.
pub struct CompileCache {
    directory: PathBuf,
    engine_key: String,
}

/// Whether a lookup found compiled code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    Miss,
}

impl CompileCache {
    pub(crate) fn open(directory: PathBuf, engine: &Engine) -> Result<Self, String> {
        fs::create_dir_all(&directory).map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = format!("{:016x}", hasher.finish());
        Ok(Self { directory, engine_key })
    }

    fn path(&self, bytes: &[u8], kind: &str) -> PathBuf {
        let digest: String = Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect();
        self.directory.join(format!("{digest}-{kind}-{}.cwasm", self.engine_key))
    }

    /// The component for `bytes`, from the cache or compiled now (and then cached).
    pub fn component(&self, engine: &Engine, bytes: &[u8]) -> wasmtime::Result<(Component, CacheOutcome)> {
        let path = self.path(bytes, "component");
        if path.exists()
            && let Ok(component) = load_component(engine, &path)
        {
            return Ok((component, CacheOutcome::Hit));
        }
        let component = Component::new(engine, bytes)?;
        store(&path, &component.serialize()?);
        Ok((component, CacheOutcome::Miss))
    }

    /// The core module for `bytes`, from the cache or compiled now (and then cached).
    pub fn module(&self, engine: &Engine, bytes: &[u8]) -> wasmtime::Result<(wasmtime::Module, CacheOutcome)> {
        let path = self.path(bytes, "module");
        if path.exists()
            && let Ok(module) = load_module(engine, &path)
        {
            return Ok((module, CacheOutcome::Hit));
        }
        let module = wasmtime::Module::new(engine, bytes)?;
        store(&path, &module.serialize()?);
        Ok((module, CacheOutcome::Miss))
    }
}

#[allow(unsafe_code)]
fn load_component(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: the file is code this process compiled and wrote into the node's private data dir
    // (mode 0700), named after the engine compatibility hash; wasmtime checks the header and
    // version too. Nothing from outside the node is ever deserialised.
    unsafe { Component::deserialize_file(engine, path) }
}

#[allow(unsafe_code)]
fn load_module(engine: &Engine, path: &Path) -> wasmtime::Result<wasmtime::Module> {
    // SAFETY: as for `load_component`: only files this process wrote are read.
    unsafe { wasmtime::Module::deserialize_file(engine, path) }
}

/// Best effort: a failed write only costs a compile next time.
fn store(path: &Path, bytes: &[u8]) {
    let temporary = path.with_extension("tmp");
    let written =
        fs::File::create(&temporary).and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()));
    match written.and_then(|()| fs::rename(&temporary, path)) {
        Ok(()) => {}
        Err(error) => tracing::warn!(path = %path.display(), %error, "could not write the compile cache"),
    }
}
