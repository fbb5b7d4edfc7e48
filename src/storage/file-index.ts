export { fileStorage, type FileStorageOptions } from './file.js';
