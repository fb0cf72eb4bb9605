//! [`ShardStore`] for [`Engine`]: the only place the trait meets the engine.

use std::time::Duration;

use tandem_model::{PointsBuf, ShardId, Version};

use super::Engine;
use crate::{
    ExportStream, RowStream, ShardDigest, ShardInfo, ShardStore, StorageError, TimeRange, WriteFuture,
};

impl ShardStore for Engine {
    fn node_uuid(&self) -> &str {
        Engine::node_uuid(self)
    }

    fn create_shard(&self, shard: ShardId) -> Result<(), StorageError> {
        Engine::create_shard(self, shard)
    }

    fn delete_shard(&self, shard: ShardId) -> Result<(), StorageError> {
        Engine::delete_shard(self, shard)
    }

    fn write<'a>(&'a self, shard: ShardId, version: Version, points: &'a PointsBuf) -> WriteFuture<'a> {
        Box::pin(Engine::write(self, shard, version, points))
    }

    fn shards(&self) -> Vec<ShardId> {
        Engine::shards(self)
    }

    fn missing_shards(&self, expected: &[ShardId]) -> Vec<ShardId> {
        Engine::missing_shards(self, expected)
    }

    fn shard_info(&self, shard: ShardId) -> Result<ShardInfo, StorageError> {
        Engine::shard_info(self, shard)
    }

    fn export(&self, shard: ShardId, range: TimeRange) -> Result<ExportStream, StorageError> {
        Engine::export(self, shard, range)
    }

    fn export_rows(&self, shard: ShardId, range: TimeRange) -> Result<RowStream, StorageError> {
        Engine::export_rows(self, shard, range)
    }

    fn digest(&self, shard: ShardId, bucket: Duration) -> Result<ShardDigest, StorageError> {
        Engine::digest(self, shard, bucket)
    }

    fn flush(&self) -> Result<(), StorageError> {
        Engine::flush(self)
    }

    fn close(&self) -> Result<(), StorageError> {
        Engine::close(self)
    }
}
