export { createConsoleSender } from './console.ts';
