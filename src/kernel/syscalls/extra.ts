// Handler maps contributed by subsystems that are wired in as they land.
import type { HandlerMap } from './handler.js';

export const extraCalls: HandlerMap[] = [];
