import { MemorySessionStore } from './memory-session.store';
import { describeSessionStoreContract } from './session-store.contract';

describeSessionStoreContract(
  'MemorySessionStore',
  (ttlSeconds) => new MemorySessionStore(ttlSeconds),
  (store) => (store as MemorySessionStore).onModuleDestroy(),
);
