import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { z } from 'zod';
import { TollgateError } from '../../errors.ts';
import type { LiveActors } from '../live-actors.ts';
import { defineRoute, type AnyRouteSpec } from '../route.ts';
import { pageQuery } from '../schemas.ts';
import { openEventStream, type OpenStreams } from '../sse.ts';

const tag = 'inspector';

/** The built page (`npm run build:inspector` writes it from ui/inspector/; committed, shipped under src/). */
const assetsDir = new URL('../inspector-assets/', import.meta.url);
const assetTypes = { 'app.js': 'text/javascript; charset=utf-8', 'app.css': 'text/css; charset=utf-8' } as const;
type AssetName = keyof typeof assetTypes;

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tollgate inspector</title>
<link rel="stylesheet" href="inspector/assets/app.css">
</head>
<body>
<div id="app"></div>
<script type="module" src="inspector/assets/app.js"></script>
</body>
</html>
`;

/** The inspector: its page, its assets, the WebSocket XState inspectors connect to, and the live actors' stream. */
export function inspectorRoutes(actors: LiveActors, open: OpenStreams): AnyRouteSpec[] {
  const assets = new Map<AssetName, Promise<{ plain: Buffer; gzip: Buffer }>>();
  const asset = (name: AssetName) => {
    let loaded = assets.get(name);
    if (!loaded) {
      loaded = readFile(new URL(name, assetsDir)).then((plain) => ({ plain, gzip: gzipSync(plain, { level: 9 }) }));
      loaded.catch(() => assets.delete(name));
      assets.set(name, loaded);
    }
    return loaded;
  };
  return [
    defineRoute({
      method: 'GET',
      path: '/inspector',
      operationId: 'inspectorPage',
      summary: 'The inspector: machines drawn with live counts, entities and their timelines, live XState actors',
      description: 'A page for a browser (self-contained: no network beyond this server). On a keyed server, open it as `/inspector?access_token=<key>`.',
      tag,
      access: 'read',
      query: pageQuery,
      tokenInQuery: true,
      success: { status: 200, description: 'The page', contentType: 'text/html' },
      errors: [],
      handler: async ({ reply }) => {
        void reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache');
        return page;
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/inspector/assets/{file}',
      operationId: 'inspectorAsset',
      summary: "The inspector page's script and style sheet (no data: open to all)",
      tag,
      access: 'open',
      params: z.strictObject({ file: z.enum(Object.keys(assetTypes) as [AssetName, ...AssetName[]]) }),
      success: { status: 200, description: 'The asset', contentType: 'text/javascript' },
      errors: ['TG_INTERNAL'],
      handler: async ({ params, request, reply }) => {
        const loaded = await asset(params.file).catch((error: unknown) => {
          throw new TollgateError('TG_INTERNAL', `The inspector's ${params.file} is missing (${(error as Error).message}); run npm run build:inspector.`);
        });
        void reply.type(assetTypes[params.file]).header('cache-control', 'no-cache').header('vary', 'accept-encoding');
        if (/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
          void reply.header('content-encoding', 'gzip');
          return loaded.gzip;
        }
        return loaded.plain;
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/inspector/ws',
      operationId: 'inspectorWebSocket',
      summary: "WebSocket for @statelyai/inspect's createWebSocketInspector({ url: 'ws://<host>/inspector/ws' })",
      description:
        'Accepts the JSON text frames of `@statelyai/inspect` (`@xstate.actor`, `@xstate.event`, `@xstate.snapshot`); ' +
        'the actors they describe appear in the inspector as live actors. Needs `write` (a key as `?access_token=`); ' +
        'a GET without the WebSocket upgrade is 400.',
      tag,
      access: 'write',
      query: pageQuery,
      tokenInQuery: true,
      success: { status: 101, description: 'Switching to the WebSocket protocol', contentType: 'application/json' },
      errors: ['TG_BAD_REQUEST'],
      websocket: (socket) => {
        socket.on('message', (data, isBinary) => {
          if (isBinary) return;
          try {
            actors.apply(JSON.parse(data.toString()), socket);
          } catch {
            // Not JSON: not a frame of ours.
          }
        });
        socket.on('close', () => actors.disconnect(socket));
      },
      handler: async () => {
        throw new TollgateError('TG_BAD_REQUEST', "/inspector/ws is a WebSocket endpoint: connect with createWebSocketInspector({ url: 'ws://<host>/inspector/ws' }).");
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/inspector/actors/stream',
      operationId: 'streamLiveActors',
      summary: 'The live XState actors connected over /inspector/ws (server-sent events)',
      description: 'Starts with `event: actor` for each known actor, then one per change (an event, a snapshot, a disconnect).',
      tag,
      access: 'read',
      query: z.strictObject({ maxDurationMs: z.coerce.number().int().min(1).max(86_400_000).optional(), access_token: z.string().max(600).optional() }),
      tokenInQuery: true,
      success: { status: 200, description: 'An event stream', contentType: 'text/event-stream' },
      errors: [],
      handler: async ({ query, request, reply }) => {
        const stream = openEventStream(request, reply, open, query.maxDurationMs);
        for (const actor of actors.list()) stream.send('actor', actor);
        stream.onClose(actors.subscribe((actor) => stream.send('actor', actor)));
        await stream.closed;
      },
    }),
  ];
}
