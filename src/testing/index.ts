/**
 * `reloadkit/testing`: fakes for users' own tests — a fake clock, a source and a trigger with
 * fault injection. They are real implementations of the public interfaces, only in memory.
 *
 * @module
 */
export * from './clock.js';
export { fakeSource, type FakeSource, type FakeSourceOptions } from './fake-source.js';
export { fakeTrigger, type FakeTrigger, type FakeTriggerOptions } from './fake-trigger.js';
