//! The gateway's response cache kept in the node's cache service: stored responses are ordinary
//! cache keys (`http:APP:SCHEME://HOST/PATH?QUERY`) with a TTL, bounded and evicted with everything else.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cloudlet_cache::Cache;
use cloudlet_gateway::ResponseStore;
use cloudlet_gateway::cache::StoreFuture;
use cloudlet_keyspace::Kind;
use cloudlet_keyspace::slot::slot;
use cloudlet_redis::Backend;
use cloudlet_resp::Reply;

/// Responses in the cache service.
pub struct CacheResponseStore(pub Arc<Cache>);

impl CacheResponseStore {
    async fn run(&self, kind: Kind, args: Vec<Bytes>) -> Option<Reply> {
        let slot = slot(&args[1]);
        self.0.execute(slot, vec![args], kind).await.pop()
    }
}

impl ResponseStore for CacheResponseStore {
    fn get(&self, key: String) -> StoreFuture<'_, Option<Bytes>> {
        Box::pin(async move {
            match self.run(Kind::Read, vec![Bytes::from_static(b"GET"), Bytes::from(key)]).await? {
                Reply::Bulk(value) => Some(value),
                _ => None,
            }
        })
    }

    fn put(&self, key: String, value: Bytes, ttl: Duration) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let millis = ttl.as_millis().max(1).to_string();
            let args = vec![
                Bytes::from_static(b"SET"),
                Bytes::from(key),
                value,
                Bytes::from_static(b"PX"),
                Bytes::from(millis),
            ];
            // A full cache refuses the write (OOM): the response is simply not stored.
            let _ = self.run(Kind::Write, args).await;
        })
    }

    fn remove(&self, key: String) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let _ = self.run(Kind::Write, vec![Bytes::from_static(b"DEL"), Bytes::from(key)]).await;
        })
    }
}
