import type { Stage } from '../types';
import { actor } from './actor';
import { assign } from './assign';
import { authenticate } from './authenticate';
import { bounce } from './bounce';
import { classify } from './classify';
import { decide } from './decide';
import { dedupMessageId } from './dedup-message-id';
import { dedupRaw } from './dedup-raw';
import { commands } from './commands';
import { forward } from './forward';
import { notify } from './notify';
import { parse } from './parse';
import { route } from './route';
import { sizeLimit } from './size-limit';
import { spam } from './spam';
import { thread } from './thread';

/**
 * THE order of the ingest pipeline (STYLE 2). Each stage reads the draft and adds to it;
 * a stage that sets `stop` ends the run. `apply` (../apply.ts) then writes the result.
 */
export const stages: readonly Stage[] = [dedupRaw, sizeLimit, parse, classify, bounce, dedupMessageId, authenticate, thread, actor, forward, spam, route, assign, decide, commands, notify];
