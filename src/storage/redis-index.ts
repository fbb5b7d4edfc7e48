export { redisStorage, type RedisClientLike, type RedisStorageOptions } from './redis.js';
