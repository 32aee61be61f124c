/**
 * Separate "hosts" on one machine for tests that need a real network between processes: each host
 * is a Linux network namespace with its own address on a private /24, all joined by one bridge, so
 * a test can partition a host from the others (`cut`) and heal it (`restore`) while the processes
 * on it keep running. The test process itself is on the network too, at the first address.
 *
 * Layout of one network (names carry the creating process's pid and a random tag, so parallel
 * test files never clash, and a later run sweeps what a killed one left behind):
 *
 *   switch namespace tn<pid>_<tag>:  bridge br0; port gw to the root namespace; port h<i> per host
 *   root namespace:   tn<pid>_<tag>gw, 10.213.X.1/24 (the test process's address on the network)
 *   host namespace tn<pid>_<tag>-<host>:  eth0 with 10.213.X.(i+2)/24, cabled to h<i>; loopback up
 *
 * The bridge sits in a namespace of its own rather than in the root namespace because there its
 * traffic passes no one's firewall: with br_netfilter loaded (bridge-nf-call-iptables=1, as here),
 * frames crossing a root-namespace bridge go through the root iptables FORWARD chain, which Docker
 * sets to DROP; host-to-host traffic would vanish on such a machine (a CI runner, say).
 *
 * Things a test must know:
 * - Loopback is per namespace: 127.0.0.1 inside a host is that host alone. A service other hosts
 *   (or the test process) must reach has to listen on 0.0.0.0 or on its host's address, and its
 *   clients must be given that address. Each host has its own ports too: two may both use 8080.
 * - There is no route out of the network: hosts reach each other and the test process's address
 *   (`gateway`), nothing else. The shared PostgreSQL and Redis on the root namespace's 127.0.0.1 are
 *   out of reach from a host; run the ones a test needs inside a host.
 * - `cut` takes the switch's port for the host down. Every neighbour (ARP) entry on the network is
 *   pinned as permanent, so nobody learns that the peer is gone: packets are dropped silently,
 *   established TCP connections stall and retransmit (no reset), new connections time out instead
 *   of failing with "no route to host" (what an unpinned entry gives after ~3 s). That is what a
 *   partition looks like to the peers. The cut host's eth0 loses carrier; its programs do not see it.
 */
import { type ChildProcess, execFile, type SpawnOptions, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Names we create: tn<pid in base 36>_<tag>… (namespaces and the root namespace's link to a switch). */
const OURS = /^tn([0-9a-z]+)_[0-9a-z]+/;
const HOST_NAME = /^[a-z][a-z0-9-]{0,19}$/;

/**
 * Starts a program as `child_process.spawn` does. Test servers take one so that a test can run them
 * inside a host (`TestNetwork.spawner`) instead of the root namespace.
 */
export type Spawner = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

export interface TestNetwork {
  /** The network, e.g. `10.213.57.0/24`. */
  readonly subnet: string;
  /** The root namespace's address on the network: where hosts reach the test process. */
  readonly gateway: string;
  readonly hosts: readonly string[];
  /** The host's IPv4 address. */
  address(host: string): string;
  /** The host's namespace name, for `ip -n NAME …` or `ip netns exec NAME …`. */
  namespace(host: string): string;
  /**
   * Starts a program inside the host, through `ip netns exec` (which execs, so the child's pid is the
   * program's). It is a process-group leader unless `detached: false` is given, so
   * `killProcessGroup` reaches its children too; `destroy` kills it.
   */
  spawn(host: string, command: string, args?: readonly string[], options?: SpawnOptions): ChildProcess;
  /** `spawn` bound to the host, for the test servers that take a `Spawner`. */
  spawner(host: string): Spawner;
  /** Runs a program inside the host to completion (killed after `timeoutMs`), with its output. */
  exec(host: string, command: string, args?: readonly string[], options?: { timeoutMs?: number }): Promise<ExecResult>;
  /** Partitions the host from the network: its traffic is dropped silently until `restore`. */
  cut(host: string): Promise<void>;
  /** Heals a `cut`. */
  restore(host: string): Promise<void>;
  /** Kills every process in the hosts and removes namespaces (the bridge's too) and links; safe to call twice. */
  destroy(): Promise<void>;
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `ip` with the given arguments; rejects with its stderr. */
async function ip(...args: string[]): Promise<string> {
  try {
    return (await run('ip', args, { timeout: 10_000 })).stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`ip ${args.join(' ')}: ${stderr || (error as Error).message}`);
  }
}

/** Runs `ip`, ignoring failure (for removing what may already be gone). */
async function ipQuiet(...args: string[]): Promise<void> {
  await ip(...args).catch(() => undefined);
}

/** Whether a process runs; a zombie (dead, waiting for its parent to reap it) does not. */
function pidAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function namespaceNames(): Promise<string[]> {
  return (await ip('netns', 'list'))
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter(Boolean);
}

async function linkNames(): Promise<string[]> {
  const links = JSON.parse(await ip('-j', 'link', 'show')) as { ifname: string }[];
  return links.map((link) => link.ifname);
}

/** Kills every process living in the namespace (so it and its interfaces can really go away). */
async function killNamespacePids(namespace: string): Promise<void> {
  const pids = (await ip('netns', 'pids', namespace).catch(() => '')).split('\n').filter(Boolean);
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Removes namespaces and links a test process left behind when it died before `destroy` (their names
 * carry its pid). Networks of live processes, including parallel test files, are left alone.
 */
async function sweepLeftovers(): Promise<void> {
  const dead = (name: string) => {
    const match = OURS.exec(name);
    return match !== null && !pidAlive(Number.parseInt(match[1]!, 36));
  };
  for (const namespace of (await namespaceNames()).filter(dead)) {
    await killNamespacePids(namespace);
    await ipQuiet('netns', 'del', namespace);
  }
  for (const link of (await linkNames()).filter(dead)) await ipQuiet('link', 'del', link);
}

/** IPv4 addresses in the root namespace, to keep our /24 clear of anyone else's. */
async function rootAddresses(): Promise<{ ifname: string; local: string }[]> {
  const links = JSON.parse(await ip('-j', '-4', 'addr', 'show')) as {
    ifname: string;
    addr_info?: { local: string }[];
  }[];
  return links.flatMap((link) => (link.addr_info ?? []).map(({ local }) => ({ ifname: link.ifname, local })));
}

/**
 * Gives the root namespace's link an address in a free 10.213.X.0/24. Optimistic: add, then look for anyone else
 * in the same /24 and back off if so; two networks racing for one X both see each other and retry.
 */
async function claimSubnet(device: string): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const used = new Set(
      (await rootAddresses()).filter(({ local }) => local.startsWith('10.213.')).map(({ local }) => local.split('.')[2]),
    );
    const x = randomInt(1, 255);
    if (used.has(String(x))) continue;
    await ip('addr', 'add', `10.213.${x}.1/24`, 'dev', device);
    const others = (await rootAddresses()).filter(({ ifname, local }) => ifname !== device && local.startsWith(`10.213.${x}.`));
    if (others.length === 0) return x;
    await ipQuiet('addr', 'del', `10.213.${x}.1/24`, 'dev', device);
  }
  throw new Error('no free 10.213.X.0/24 subnet for a test network');
}

/** A fixed, locally administered MAC for an address (02:00 + its four bytes), so ARP entries can be pinned. */
function macFor(address: string): string {
  return ['02', '00', ...address.split('.').map((byte) => Number(byte).toString(16).padStart(2, '0'))].join(':');
}

/**
 * Creates a network with one namespace per host name (lower case, digits, dashes). Sweeps what dead
 * test processes left behind first. On any failure, removes what it made and rethrows.
 */
export async function createTestNetwork({ hosts }: { hosts: string[] }): Promise<TestNetwork> {
  for (const host of hosts) if (!HOST_NAME.test(host)) throw new Error(`bad host name ${JSON.stringify(host)}`);
  if (new Set(hosts).size !== hosts.length) throw new Error('host names must differ');
  if (hosts.length === 0 || hosts.length > 100) throw new Error('a test network has 1 to 100 hosts');
  await sweepLeftovers();

  // The switch namespace is the claim on the tag: `netns add` fails if another network has it.
  let id = '';
  for (let attempt = 0; ; attempt++) {
    id = `tn${process.pid.toString(36)}_${BigInt(`0x${randomBytes(3).toString('hex')}`)
      .toString(36)
      .padStart(4, '0')
      .slice(0, 4)}`;
    try {
      await ip('netns', 'add', id);
      break;
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
  const sw = id;
  const uplink = `${id}gw`;
  const namespaces = new Map(hosts.map((host) => [host, `${id}-${host}`]));
  const ports = new Map(hosts.map((host, i) => [host, `h${i}`]));
  const children = new Set<ChildProcess>();
  const addresses = new Map<string, string>();

  const need = <T>(map: Map<string, T>, host: string): T => {
    const value = map.get(host);
    if (value === undefined) throw new Error(`no host ${JSON.stringify(host)} on this network (${hosts.join(', ')})`);
    return value;
  };

  const spawnIn = (host: string, command: string, args: readonly string[] = [], options: SpawnOptions = {}) => {
    const child = spawn('ip', ['netns', 'exec', need(namespaces, host), command, ...args], { detached: true, ...options });
    children.add(child);
    child.once('exit', () => children.delete(child));
    return child;
  };

  let destroyed: Promise<void> | undefined;
  const destroy = () => {
    destroyed ??= (async () => {
      for (const child of children) killProcessGroup(child, 'SIGKILL');
      for (const namespace of namespaces.values()) await killNamespacePids(namespace);
      // Deleting a namespace frees its devices asynchronously; the root's own link goes at once.
      await ipQuiet('link', 'del', uplink);
      for (const namespace of namespaces.values()) await ipQuiet('netns', 'del', namespace);
      await ipQuiet('netns', 'del', sw);
      const left = [
        ...(await namespaceNames()).filter((name) => name === sw || name.startsWith(`${sw}-`)),
        ...(await linkNames()).filter((name) => name.startsWith(id)),
      ];
      if (left.length > 0) throw new Error(`test network ${id} left behind: ${left.join(', ')}`);
    })();
    return destroyed;
  };

  try {
    await ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', sw, 'link', 'set', 'dev', 'br0', 'up');
    await ip('link', 'add', uplink, 'type', 'veth', 'peer', 'name', 'gw', 'netns', sw);
    await ip('-n', sw, 'link', 'set', 'dev', 'gw', 'master', 'br0', 'up');
    const subnet = await claimSubnet(uplink);
    const gateway = `10.213.${subnet}.1`;
    await ip('link', 'set', 'dev', uplink, 'address', macFor(gateway), 'up');
    for (const [i, host] of hosts.entries()) addresses.set(host, `10.213.${subnet}.${i + 2}`);
    for (const host of hosts) {
      const namespace = need(namespaces, host);
      const port = need(ports, host);
      const address = need(addresses, host);
      await ip('netns', 'add', namespace);
      await ip(
        '-n',
        sw,
        'link',
        'add',
        port,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'address',
        macFor(address),
        'netns',
        namespace,
      );
      await ip('-n', sw, 'link', 'set', 'dev', port, 'master', 'br0', 'up');
      await ip('-n', namespace, 'link', 'set', 'dev', 'lo', 'up');
      await ip('-n', namespace, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      await ip('-n', namespace, 'link', 'set', 'dev', 'eth0', 'up');
    }
    // Pinned neighbours, so a cut host is never found missing by ARP (see the module comment).
    const everyone: { namespace: string | undefined; dev: string; address: string }[] = [
      { namespace: undefined, dev: uplink, address: gateway },
      ...hosts.map((host) => ({ namespace: need(namespaces, host), dev: 'eth0', address: need(addresses, host) })),
    ];
    for (const self of everyone) {
      for (const other of everyone) {
        if (other === self) continue;
        const where = self.namespace === undefined ? [] : ['-n', self.namespace];
        await ip(
          ...where,
          'neigh',
          'replace',
          other.address,
          'lladdr',
          macFor(other.address),
          'dev',
          self.dev,
          'nud',
          'permanent',
        );
      }
    }

    return {
      subnet: `10.213.${subnet}.0/24`,
      gateway,
      hosts: [...hosts],
      address: (host) => need(addresses, host),
      namespace: (host) => need(namespaces, host),
      spawn: spawnIn,
      spawner: (host) => (command, args, options) => spawnIn(host, command, args, options),
      async exec(host, command, args = [], { timeoutMs = 30_000 } = {}) {
        const child = spawnIn(host, command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (chunk) => (stdout += chunk));
        child.stderr!.on('data', (chunk) => (stderr += chunk));
        const timer = setTimeout(() => killProcessGroup(child, 'SIGKILL'), timeoutMs);
        const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
          child.once('error', reject);
          child.once('close', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
        }).finally(() => clearTimeout(timer));
        return { code, signal, stdout, stderr };
      },
      async cut(host) {
        await ip('-n', sw, 'link', 'set', 'dev', need(ports, host), 'down');
      },
      async restore(host) {
        await ip('-n', sw, 'link', 'set', 'dev', need(ports, host), 'up');
      },
      destroy,
    };
  } catch (error) {
    await destroy().catch(() => undefined);
    throw error;
  }
}

/**
 * Sends a signal to the child's whole process group (the child and what it started), falling back to
 * the child alone when it is not a group leader; does nothing once it is gone.
 */
export function killProcessGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

let availability: Promise<string | undefined> | undefined;

/**
 * Why this machine cannot make test networks (not root, no `ip`, or not allowed to create a
 * namespace), or undefined when it can. Tried once per process, by creating and removing a namespace.
 */
export function hostsUnavailableReason(): Promise<string | undefined> {
  availability ??= (async () => {
    if (process.getuid?.() !== 0) return 'network namespaces need root';
    const probe = `tn${process.pid.toString(36)}_probe`;
    try {
      await ip('netns', 'add', probe);
    } catch (error) {
      return `cannot create a network namespace: ${(error as Error).message}`;
    }
    await ipQuiet('netns', 'del', probe);
    return undefined;
  })();
  return availability;
}

/** Whether this machine can make test networks (root, `ip` present, namespaces allowed). */
export async function hostsAvailable(): Promise<boolean> {
  return (await hostsUnavailableReason()) === undefined;
}

/**
 * For a test file that needs hosts: true when they are available; false (skip) when not, except
 * under CI (CI set), where missing hosts are a broken runner and this throws, failing the file.
 */
export async function needHosts(): Promise<boolean> {
  const reason = await hostsUnavailableReason();
  if (reason === undefined) return true;
  const ci = process.env.CI;
  if (ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0') {
    throw new Error(`tests with separate hosts must run under CI, but ${reason} (run the tests as root on Linux with iproute2)`);
  }
  return false;
}
