//! The functions' `wasi:keyvalue` buckets, over the node's KV store and cache.
//!
//! An app's keys live in a store as `app:APP:` followed by the guest's key. The prefix is added
//! here, never by the guest, so a function can name only its own app's keys. They are ordinary keys
//! of the store: `redis-cli -p 6380 --scan --pattern 'app:shop:*'` lists them. Each operation is one
//! command through the store's [`Backend`], so the guest gets exactly the store's semantics and
//! durability (a KV write is acknowledged once fsynced and applied).

use std::sync::Arc;

use bytes::Bytes;
use cloudlet_cache::Cache;
use cloudlet_config::KeyValueStore;
use cloudlet_functions::{Bucket, Buckets, KeyValueFuture};
use cloudlet_keyspace::Kind;
use cloudlet_keyspace::slot::slot;
use cloudlet_kv::Kv;
use cloudlet_redis::Backend;
use cloudlet_resp::Reply;

/// Keys one `list-keys` call returns at most (a hint to `SCAN`).
const PAGE: &str = "100";

/// The node's two stores.
pub struct NodeBuckets {
    pub kv: Arc<Kv>,
    pub cache: Arc<Cache>,
}

impl Buckets for NodeBuckets {
    fn bucket(&self, app: &str, store: KeyValueStore) -> Arc<dyn Bucket> {
        match store {
            KeyValueStore::Kv => Arc::new(AppBucket::new(self.kv.clone(), app)),
            KeyValueStore::Cache => Arc::new(AppBucket::new(self.cache.clone(), app)),
        }
    }
}

/// One app's keys in one store.
struct AppBucket<B> {
    backend: Arc<B>,
    prefix: String,
}

impl<B: Backend> AppBucket<B> {
    fn new(backend: Arc<B>, app: &str) -> Self {
        Self { backend, prefix: format!("app:{app}:") }
    }

    fn key(&self, key: &str) -> Bytes {
        Bytes::from(format!("{}{key}", self.prefix))
    }

    /// Runs one command on `key`; an error reply becomes the guest's error message.
    async fn run(&self, kind: Kind, name: &'static str, key: &str, rest: Vec<Bytes>) -> Result<Reply, String> {
        let key = self.key(key);
        let slot = slot(&key);
        let mut args = vec![Bytes::from_static(name.as_bytes()), key];
        args.extend(rest);
        match self.backend.execute(slot, vec![args], kind).await.pop() {
            Some(Reply::Error(message)) => Err(message),
            Some(reply) => Ok(reply),
            None => Err("the store gave no reply".to_string()),
        }
    }
}

fn unexpected(reply: &Reply) -> String {
    format!("unexpected reply from the store: {reply:?}")
}

impl<B: Backend> Bucket for AppBucket<B> {
    fn get(&self, key: String) -> KeyValueFuture<'_, Option<Vec<u8>>> {
        Box::pin(async move {
            match self.run(Kind::Read, "GET", &key, Vec::new()).await? {
                Reply::Bulk(value) => Ok(Some(value.to_vec())),
                Reply::Null => Ok(None),
                other => Err(unexpected(&other)),
            }
        })
    }

    fn set(&self, key: String, value: Vec<u8>) -> KeyValueFuture<'_, ()> {
        Box::pin(async move {
            self.run(Kind::Write, "SET", &key, vec![Bytes::from(value)]).await?;
            Ok(())
        })
    }

    fn delete(&self, key: String) -> KeyValueFuture<'_, ()> {
        Box::pin(async move {
            self.run(Kind::Write, "DEL", &key, Vec::new()).await?;
            Ok(())
        })
    }

    fn exists(&self, key: String) -> KeyValueFuture<'_, bool> {
        Box::pin(async move {
            match self.run(Kind::Read, "EXISTS", &key, Vec::new()).await? {
                Reply::Integer(count) => Ok(count > 0),
                other => Err(unexpected(&other)),
            }
        })
    }

    fn increment(&self, key: String, delta: u64) -> KeyValueFuture<'_, u64> {
        Box::pin(async move {
            let delta = i64::try_from(delta).map_err(|_| format!("an increment of {delta} is above 2^63 - 1"))?;
            match self.run(Kind::Write, "INCRBY", &key, vec![Bytes::from(delta.to_string())]).await? {
                Reply::Integer(value) => u64::try_from(value).map_err(|_| format!("the value of {key} is negative")),
                other => Err(unexpected(&other)),
            }
        })
    }

    fn list(&self, cursor: u64) -> KeyValueFuture<'_, (Vec<String>, Option<u64>)> {
        Box::pin(async move {
            let args = ["SCAN", &cursor.to_string(), "MATCH", &format!("{}*", self.prefix), "COUNT", PAGE]
                .map(|word| Bytes::copy_from_slice(word.as_bytes()))
                .to_vec();
            let reply = self.backend.execute_everywhere(args).await;
            let Reply::Array(mut parts) = reply else {
                return Err(match reply {
                    Reply::Error(message) => message,
                    other => unexpected(&other),
                });
            };
            let (Some(Reply::Array(keys)), Some(Reply::Bulk(next))) = (parts.pop(), parts.pop()) else {
                return Err("unexpected SCAN reply from the store".to_string());
            };
            let next: u64 = std::str::from_utf8(&next).ok().and_then(|text| text.parse().ok()).unwrap_or(0);
            let keys = keys
                .into_iter()
                .filter_map(|key| match key {
                    Reply::Bulk(key) => {
                        key.strip_prefix(self.prefix.as_bytes()).map(|rest| String::from_utf8_lossy(rest).into_owned())
                    }
                    _ => None,
                })
                .collect();
            Ok((keys, (next != 0).then_some(next)))
        })
    }
}
