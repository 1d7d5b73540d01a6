/**
 * The process crash.test.ts kills: creates users in a loop on the given database and
 * prints each username only once createUser has resolved (the write is acknowledged).
 * Usage: node crash-child.ts <database path> <username prefix>
 */
import { openSQLiteStore } from '../../src/store/sqlite.ts';

const [path, prefix] = process.argv.slice(2);
if (path === undefined || prefix === undefined) throw new TypeError('Usage: crash-child.ts <database path> <username prefix>');

const store = await openSQLiteStore(path);
// Bounded, so a child whose parent is gone stops by itself.
for (let i = 0; i < 100_000; i++) {
  const username = `${prefix}-${i}`;
  const user = await store.createUser({ id: username, username, email: null, phone: null, passwordHash: 'h', createdAt: i });
  if (user === null) throw new Error(`createUser(${username}) found the name taken`);
  process.stdout.write(`${username}\n`);
}
await store.close();
