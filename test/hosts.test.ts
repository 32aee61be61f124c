/**
 * The test network (test/support/hosts.ts) behaves like separate machines: hosts reach each other by
 * address and the test process reaches them, loopback stays private to each host, a cut host goes
 * silent (timeouts, stalled connections, no resets) until restored, kills reach the programs, and
 * destroy leaves nothing behind.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNetwork, killProcessGroup, needHosts, type TestNetwork } from './support/hosts.ts';

const withHosts = await needHosts();

/** Answers every request with the host's name; listens on all of the host's addresses. */
const SERVER = `require('node:http')
  .createServer((req, res) => res.end(process.argv[1]))
  .listen(8080, '0.0.0.0', () => console.log('listening'));`;

/** One GET: prints "ok <body>", "timeout" or "error <code>". */
const CLIENT = `const [url, ms] = process.argv.slice(1);
const req = require('node:http').get(url, { timeout: Number(ms) }, (res) => {
  let body = '';
  res.on('data', (chunk) => (body += chunk));
  res.on('end', () => console.log('ok ' + body));
});
req.on('timeout', () => { console.log('timeout'); process.exit(0); });
req.on('error', (error) => console.log('error ' + error.code));`;

/** Whether the process still runs (a zombie waiting for its reaper does not). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function firstLine(child: ChildProcess): Promise<string> {
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return line;
}

/** Our names still present on the machine: namespaces and links starting with the network's tag. */
function leftovers(network: TestNetwork): string[] {
  const tag = network.namespace(network.hosts[0]!).split('-')[0]!;
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  const links = execFileSync('ip', ['-br', 'link'], { encoding: 'utf8' });
  return `${namespaces}\n${links}`
    .split('\n')
    .map((line) => line.split(/[\s@]/)[0]!)
    .filter((name) => name.startsWith(tag));
}

describe.runIf(withHosts)('a test network of separate hosts', () => {
  let network: TestNetwork;
  const get = (from: string, url: string, timeoutMs = 2_000) =>
    network.exec(from, process.execPath, ['-e', CLIENT, url, String(timeoutMs)]).then((r) => r.stdout.trim());

  beforeAll(async () => {
    network = await createTestNetwork({ hosts: ['a', 'b'] });
    const server = network.spawn('a', process.execPath, ['-e', SERVER, 'a'], { stdio: ['ignore', 'pipe', 'inherit'] });
    expect(await firstLine(server)).toBe('listening');
  });
  afterAll(async () => {
    await network?.destroy();
  });

  it('gives each host its own address on one private /24, the root namespace the first', () => {
    expect(network.subnet).toMatch(/^10\.213\.\d+\.0\/24$/);
    const prefix = network.subnet.replace(/0\/24$/, '');
    expect(network.gateway).toBe(`${prefix}1`);
    expect(network.address('a')).toBe(`${prefix}2`);
    expect(network.address('b')).toBe(`${prefix}3`);
    expect(() => network.address('c')).toThrow(/no host "c"/);
  });

  it('a server on one host answers another host and the test process', async () => {
    expect(await get('b', `http://${network.address('a')}:8080/`)).toBe('ok a');
    const response = await fetch(`http://${network.address('a')}:8080/`, { signal: AbortSignal.timeout(2_000) });
    expect(await response.text()).toBe('a');
  });

  it('loopback is private to each host: 127.0.0.1 on another host is not the server', async () => {
    expect(await get('a', 'http://127.0.0.1:8080/')).toBe('ok a');
    expect(await get('b', 'http://127.0.0.1:8080/')).toBe('error ECONNREFUSED');
    // The root namespace may have its own listener on 8080, but never host a's.
    const fromRoot = await fetch('http://127.0.0.1:8080/', { signal: AbortSignal.timeout(2_000) })
      .then((r) => r.text())
      .catch(() => 'unreachable');
    expect(fromRoot).not.toBe('a');
  });

  it('a cut host is silent: new requests time out rather than being refused, and work after restore', async () => {
    const url = `http://${network.address('a')}:8080/`;
    await network.cut('a');
    try {
      expect(await get('b', url, 1_500)).toBe('timeout');
      const fromRoot = await fetch(url, { signal: AbortSignal.timeout(1_000) }).catch((error: Error) => error.name);
      expect(fromRoot).toBe('TimeoutError');
    } finally {
      await network.restore('a');
    }
    expect(await get('b', url)).toBe('ok a');
  });

  it('an established connection stalls through a cut without a reset, and resumes after restore', async () => {
    const socket: Socket = connect(8080, network.address('a'));
    await once(socket, 'connect');
    let received = '';
    let ended: string | undefined;
    socket.on('data', (chunk) => (received += chunk));
    socket.on('error', (error) => (ended = `error ${(error as NodeJS.ErrnoException).code}`));
    socket.on('close', () => (ended ??= 'closed'));
    const request = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n';
    const responses = () => received.split('HTTP/1.1 200').length - 1;
    try {
      socket.write(request);
      await expect.poll(responses, { timeout: 2_000 }).toBe(1);

      await network.cut('a');
      socket.write(request);
      await sleep(1_500);
      expect(responses()).toBe(1);
      expect(ended).toBeUndefined();

      await network.restore('a');
      // The kernel's next retransmission delivers the request; backoff makes that up to a few seconds.
      await expect.poll(responses, { timeout: 10_000, interval: 50 }).toBe(2);
      expect(ended).toBeUndefined();
    } finally {
      await network.restore('a');
      socket.destroy();
    }
  });

  it('spawn runs the program itself in the host (ip netns exec execs), and SIGKILL ends it', async () => {
    const child = network.spawn('b', process.execPath, ['-e', 'setInterval(() => {}, 1000); console.log("up")'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    expect(await firstLine(child)).toBe('up');
    const pid = child.pid!;
    expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe('node');
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    expect(await exited).toEqual([null, 'SIGKILL']);
    expect(alive(pid)).toBe(false);
  });

  it('killProcessGroup reaches what a program in a host started', async () => {
    const child = network.spawn('b', 'sh', ['-c', 'sleep 300 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const grandchild = Number(await firstLine(child));
    expect(alive(grandchild)).toBe(true);
    const exited = once(child, 'exit');
    killProcessGroup(child, 'SIGKILL');
    await exited;
    await expect.poll(() => alive(grandchild), { timeout: 2_000 }).toBe(false);
  });
});

describe.runIf(withHosts)('destroying a test network', () => {
  it('removes namespaces, links and the bridge, kills what runs in the hosts, and may be called twice', async () => {
    const network = await createTestNetwork({ hosts: ['db', 'api', 'worker'] });
    expect(leftovers(network)).toHaveLength(5); // three hosts, the switch, the root namespace's link
    // A daemon that left its parent: only the namespace still knows it.
    const started = await network.exec('db', 'sh', ['-c', 'sleep 300 >/dev/null 2>&1 & echo $!']);
    const daemon = Number(started.stdout.trim());
    expect(alive(daemon)).toBe(true);

    await network.destroy();
    expect(leftovers(network)).toEqual([]);
    await expect.poll(() => alive(daemon), { timeout: 2_000 }).toBe(false);
    await network.destroy();
  });

  it('removes the rest when parts are already gone', async () => {
    const network = await createTestNetwork({ hosts: ['one', 'two'] });
    execFileSync('ip', ['netns', 'del', network.namespace('one')]);
    await network.destroy();
    expect(leftovers(network)).toEqual([]);
  });
});
