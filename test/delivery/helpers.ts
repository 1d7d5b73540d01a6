/** Loopback peers for delivery tests: an HTTP receiver, a closed port, a server that never speaks. */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { DeliveryChannel, OutgoingMessage, Sender } from '../../src/auth/index.ts';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  url: URL;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

/**
 * An HTTP server on 127.0.0.1 that records each request and answers with `respond`
 * (called with the request and its index). `respond` may leave the response open: the
 * server never answers, and close() ends such connections.
 */
export async function startReceiver(respond: (request: ReceivedRequest, index: number, res: ServerResponse) => void): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(request);
      respond(request, requests.length - 1, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/`),
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export function answer(res: ServerResponse, status: number, body = '', type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}

/** A port on 127.0.0.1 with nothing listening (connections are refused). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Accepts TCP connections and never sends a byte (no SMTP greeting, no TLS handshake). */
export async function startSilentServer(): Promise<{ port: number; connections: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const state = { port: 0, connections: 0, close: async () => {} };
  const server = net.createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.close = () => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  });
  return state;
}

/** A Sender whose target can be swapped mid-test (a mail server that comes back). */
export function switchableSender(initial: Sender): Sender & { target: Sender } {
  const switchable = {
    target: initial,
    supports: (channel: DeliveryChannel) => switchable.target.supports(channel),
    send: (message: OutgoingMessage) => switchable.target.send(message),
  };
  return switchable;
}

/** Collects SMS (and anything else) in memory. */
export function memorySender(): Sender & { messages: OutgoingMessage[] } {
  const messages: OutgoingMessage[] = [];
  return {
    messages,
    supports: () => true,
    send(message) {
      messages.push(message);
      return Promise.resolve();
    },
  };
}

/** Every run of 6 or more digits in `text`. */
export function sixDigitRuns(text: string): string[] {
  return text.match(/\d{6,}/g) ?? [];
}
