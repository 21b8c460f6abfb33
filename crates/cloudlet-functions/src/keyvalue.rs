//! `wasi:keyvalue` (0.2.0-draft: `store`, `atomics`, `batch`) for `wasi:http` functions.
//!
//! This crate knows no store. The node hands each function with `keyvalue` set a
//! [`KeyValueAccess`]: the [`Bucket`]s it may open, by identifier, each already confined to the
//! function's app (`cloudlet-node` binds them to the KV store and the cache). A guest opens `""` or
//! `"default"` for the store its manifest chose, or `"kv"` / `"cache"` by name; any other
//! identifier is `no-such-store`. Store errors reach the guest as `error::other` with the store's
//! message; they never trap the guest.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use cloudlet_config::KeyValueStore;
use futures_util::future::join_all;
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

use crate::host::HttpHost;

mod bindings {
    wasmtime::component::bindgen!({
        path: "wit/keyvalue.wit",
        world: "wasi:keyvalue/imports",
        imports: { default: async | trappable },
        with: { "wasi:keyvalue/store.bucket": super::OpenBucket },
    });
}

use bindings::wasi::keyvalue::{atomics, batch, store};

/// What a store operation returns: its value, or a message for the guest.
pub type KeyValueFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send + 'a>>;

/// One app's keys in one store. Keys are the guest's own; the implementation keeps them apart from
/// every other app's. Each operation is atomic on its key; a write is acknowledged once the store
/// has it (for the KV store: durable and applied).
pub trait Bucket: Send + Sync + 'static {
    fn get(&self, key: String) -> KeyValueFuture<'_, Option<Vec<u8>>>;
    fn set(&self, key: String, value: Vec<u8>) -> KeyValueFuture<'_, ()>;
    fn delete(&self, key: String) -> KeyValueFuture<'_, ()>;
    fn exists(&self, key: String) -> KeyValueFuture<'_, bool>;
    /// Adds `delta` to the decimal number at `key` (0 when absent); the new value.
    fn increment(&self, key: String, delta: u64) -> KeyValueFuture<'_, u64>;
    /// A page of keys from `cursor` (0 = the start), and the cursor of the next page, if any.
    fn list(&self, cursor: u64) -> KeyValueFuture<'_, (Vec<String>, Option<u64>)>;
}

/// The node's stores, as buckets confined to one app.
pub trait Buckets: Send + Sync + 'static {
    /// `app`'s bucket in `store`.
    fn bucket(&self, app: &str, store: KeyValueStore) -> Arc<dyn Bucket>;
}

/// The buckets one function may open, by identifier.
#[derive(Clone, Default)]
pub struct KeyValueAccess {
    buckets: BTreeMap<String, Arc<dyn Bucket>>,
}

impl KeyValueAccess {
    /// What a function of `app` with `keyvalue = default` may open: its app's bucket in `default`
    /// under `""` and `"default"`, and in every store under the store's name (`"kv"`, `"cache"`).
    pub fn for_app(buckets: &dyn Buckets, app: &str, default: KeyValueStore) -> Self {
        let mut opened = BTreeMap::new();
        for store in [KeyValueStore::Kv, KeyValueStore::Cache] {
            opened.insert(store.as_str().to_string(), buckets.bucket(app, store));
        }
        let default = opened[default.as_str()].clone();
        opened.insert(String::new(), default.clone());
        opened.insert("default".to_string(), default);
        Self { buckets: opened }
    }
}

/// An open bucket, as the guest's `bucket` resource.
pub struct OpenBucket(Arc<dyn Bucket>);

/// The host side of `wasi:keyvalue` for one request's store.
pub(crate) struct KeyValueHost<'a> {
    table: &'a mut ResourceTable,
    access: &'a KeyValueAccess,
}

struct HasKeyValue;

impl HasData for HasKeyValue {
    type Data<'a> = KeyValueHost<'a>;
}

/// Links `wasi:keyvalue` for components whose function has key-value access.
pub(crate) fn add_to_linker(linker: &mut Linker<HttpHost>) -> wasmtime::Result<()> {
    fn view(host: &mut HttpHost) -> KeyValueHost<'_> {
        KeyValueHost { table: &mut host.table, access: &host.keyvalue }
    }
    store::add_to_linker::<HttpHost, HasKeyValue>(linker, view)?;
    atomics::add_to_linker::<HttpHost, HasKeyValue>(linker, view)?;
    batch::add_to_linker::<HttpHost, HasKeyValue>(linker, view)?;
    Ok(())
}

type Answer<T> = wasmtime::Result<Result<T, store::Error>>;

impl KeyValueHost<'_> {
    fn bucket(&self, bucket: &Resource<OpenBucket>) -> wasmtime::Result<Arc<dyn Bucket>> {
        Ok(self.table.get(bucket)?.0.clone())
    }
}

fn answer<T>(result: Result<T, String>) -> Answer<T> {
    Ok(result.map_err(store::Error::Other))
}

impl store::Host for KeyValueHost<'_> {
    async fn open(&mut self, identifier: String) -> Answer<Resource<OpenBucket>> {
        match self.access.buckets.get(&identifier) {
            Some(bucket) => Ok(Ok(self.table.push(OpenBucket(bucket.clone()))?)),
            None => Ok(Err(store::Error::NoSuchStore)),
        }
    }
}

impl store::HostBucket for KeyValueHost<'_> {
    async fn get(&mut self, bucket: Resource<OpenBucket>, key: String) -> Answer<Option<Vec<u8>>> {
        answer(self.bucket(&bucket)?.get(key).await)
    }

    async fn set(&mut self, bucket: Resource<OpenBucket>, key: String, value: Vec<u8>) -> Answer<()> {
        answer(self.bucket(&bucket)?.set(key, value).await)
    }

    async fn delete(&mut self, bucket: Resource<OpenBucket>, key: String) -> Answer<()> {
        answer(self.bucket(&bucket)?.delete(key).await)
    }

    async fn exists(&mut self, bucket: Resource<OpenBucket>, key: String) -> Answer<bool> {
        answer(self.bucket(&bucket)?.exists(key).await)
    }

    async fn list_keys(&mut self, bucket: Resource<OpenBucket>, cursor: Option<u64>) -> Answer<store::KeyResponse> {
        let page = self.bucket(&bucket)?.list(cursor.unwrap_or(0)).await;
        answer(page.map(|(keys, cursor)| store::KeyResponse { keys, cursor }))
    }

    async fn drop(&mut self, bucket: Resource<OpenBucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for KeyValueHost<'_> {
    async fn increment(&mut self, bucket: Resource<OpenBucket>, key: String, delta: u64) -> Answer<u64> {
        answer(self.bucket(&bucket)?.increment(key, delta).await)
    }
}

/// The batch operations run their keys concurrently (so writes to the KV store share fsyncs); like
/// the interface says, they are not atomic: on an error, some keys may have changed.
impl batch::Host for KeyValueHost<'_> {
    async fn get_many(
        &mut self,
        bucket: Resource<OpenBucket>,
        keys: Vec<String>,
    ) -> Answer<Vec<Option<(String, Vec<u8>)>>> {
        let bucket = self.bucket(&bucket)?;
        let values = join_all(keys.iter().map(|key| bucket.get(key.clone()))).await;
        let found = keys.into_iter().zip(values).map(|(key, value)| Ok(value?.map(|value| (key, value))));
        answer(found.collect())
    }

    async fn set_many(&mut self, bucket: Resource<OpenBucket>, pairs: Vec<(String, Vec<u8>)>) -> Answer<()> {
        let bucket = self.bucket(&bucket)?;
        answer(join_all(pairs.into_iter().map(|(key, value)| bucket.set(key, value))).await.into_iter().collect())
    }

    async fn delete_many(&mut self, bucket: Resource<OpenBucket>, keys: Vec<String>) -> Answer<()> {
        let bucket = self.bucket(&bucket)?;
        answer(join_all(keys.into_iter().map(|key| bucket.delete(key))).await.into_iter().collect())
    }
}
