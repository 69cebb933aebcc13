import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { containerDefinitions, defaultContainerNames } from '../../src/adapters/cosmos/cosmos-containers.js';
import { DEFAULT_DOCUMENT_PATH, loadConfig, settingsSchema } from '../../src/config.js';
import { DESIGN_WORKLOAD, flexSettings } from '../../bench/capacity/capacity-math.js';

// No Bicep compiler can be installed here, so this test reads infra/ with a small purpose-built
// reader of the Bicep text (declarations, object and array literals, for-loops, conditions; any
// other expression kept as text) and checks what a compiler cannot: that the template agrees with
// the code (settings, containers, queue, roles) and holds no secret. It also checks the module
// wiring a compiler would (every module parameter passed exists, every required one is passed,
// every module output used is declared).

const ROOT = path.resolve(import.meta.dirname, '../..');
const INFRA = path.join(ROOT, 'infra');

// ---------------------------------------------------------------------------------------------
// The Bicep reader

interface Token {
  type: 'ident' | 'string' | 'number' | 'punct' | 'newline';
  text: string;
  start: number;
  end: number;
}

function lex(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (type: Token['type'], start: number, end: number) => tokens.push({ type, text: src.slice(start, end), start, end });
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\n') {
      push('newline', i, i + 1);
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') i++;
    else if (src.startsWith('//', i)) while (i < src.length && src[i] !== '\n') i++;
    else if (src.startsWith('/*', i)) {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) throw new Error(`unterminated comment at ${i}`);
      i = end + 2;
    } else if (src.startsWith("'''", i)) {
      const end = src.indexOf("'''", i + 3);
      if (end < 0) throw new Error(`unterminated multi-line string at ${i}`);
      push('string', i, end + 3);
      i = end + 3;
    } else if (c === "'") {
      const start = i;
      i = skipString(src, i);
      push('string', start, i);
    } else if (/[A-Za-z_]/.test(c)) {
      const start = i;
      while (i < src.length && /\w/.test(src[i]!)) i++;
      push('ident', start, i);
    } else if (/\d/.test(c)) {
      const start = i;
      while (i < src.length && /\d/.test(src[i]!)) i++;
      push('number', start, i);
    } else {
      const two = src.slice(i, i + 2);
      const len = ['==', '!=', '>=', '<=', '&&', '||', '??', '.?', '=~', '!~'].includes(two) ? 2 : 1;
      push('punct', i, i + len);
      i += len;
    }
  }
  return tokens;
}

/** Returns the index after the closing quote, stepping over `${...}` interpolations (which may nest strings). */
function skipString(src: string, i: number): number {
  i++;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\\') i += 2;
    else if (c === "'") return i + 1;
    else if (c === '$' && src[i + 1] === '{') {
      i += 2;
      let depth = 1;
      while (i < src.length && depth > 0) {
        if (src[i] === "'") i = skipString(src, i);
        else {
          if (src[i] === '{') depth++;
          else if (src[i] === '}') depth--;
          i++;
        }
      }
    } else if (c === '\n') throw new Error(`newline in string at ${i}`);
    else i++;
  }
  throw new Error('unterminated string');
}

type BNode =
  | { kind: 'object'; entries: Map<string, BNode>; text: string }
  | { kind: 'array'; items: BNode[]; text: string }
  | { kind: 'for'; header: string; body: BNode; text: string }
  | { kind: 'if'; condition: string; body: BNode; text: string }
  | { kind: 'expr'; text: string; objects: Extract<BNode, { kind: 'object' }>[] };

interface Decl {
  kind: 'param' | 'var' | 'resource' | 'module' | 'output' | 'targetScope';
  name: string;
  /** param/output: the type; resource: 'Type@apiVersion'; module: the path. */
  type?: string;
  existing?: boolean;
  value?: BNode;
  decorators: string[];
}

interface BicepFile {
  file: string;
  text: string;
  decls: Decl[];
}

const unquote = (s: string) => s.slice(1, -1).replace(/\\'/g, "'").replace(/\\\\/g, '\\');

function parseBicep(file: string, src: string): BicepFile {
  const t = lex(src);
  let p = 0;
  const peek = () => t[p];
  const fail = (what: string): never => {
    const at = t[p]?.start ?? src.length;
    const line = src.slice(0, at).split('\n').length;
    throw new Error(`${path.relative(ROOT, file)}:${line}: ${what} (at '${t[p]?.text ?? 'EOF'}')`);
  };
  const expect = (text: string) => (t[p]?.text === text ? t[p++]! : fail(`expected '${text}'`));
  const skipNewlines = () => {
    while (t[p]?.type === 'newline') p++;
  };
  const balanced = (open: string, close: string): string => {
    const start = expect(open).start;
    let depth = 1;
    while (depth > 0) {
      const tok = t[p++] ?? fail(`unbalanced '${open}'`);
      if (tok.text === open) depth++;
      else if (tok.text === close) depth--;
    }
    return src.slice(start, t[p - 1]!.end);
  };

  function parseObject(): Extract<BNode, { kind: 'object' }> {
    const start = expect('{').start;
    const entries = new Map<string, BNode>();
    for (;;) {
      while (t[p]?.type === 'newline' || t[p]?.text === ',') p++;
      if (peek()?.text === '}') break;
      const key = t[p++] ?? fail('expected key');
      if (key.type !== 'ident' && key.type !== 'string') fail('expected key');
      expect(':');
      entries.set(key.type === 'string' ? unquote(key.text) : key.text, parseValue());
    }
    const end = expect('}').end;
    return { kind: 'object', entries, text: src.slice(start, end) };
  }

  function parseArray(): BNode {
    const start = expect('[').start;
    skipNewlines();
    if (peek()?.text === 'for') {
      const headerStart = t[p]!.start;
      while (peek()?.text !== ':') p++;
      const header = src.slice(headerStart, t[p]!.start).trim();
      expect(':');
      skipNewlines();
      const body = parseValue();
      skipNewlines();
      const end = expect(']').end;
      return { kind: 'for', header, body, text: src.slice(start, end) };
    }
    const items: BNode[] = [];
    for (;;) {
      while (t[p]?.type === 'newline' || t[p]?.text === ',') p++;
      if (peek()?.text === ']') break;
      items.push(parseValue());
    }
    const end = expect(']').end;
    return { kind: 'array', items, text: src.slice(start, end) };
  }

  function parseValue(): BNode {
    skipNewlines();
    const first = peek() ?? fail('expected a value');
    const startIndex = p;
    if (first.text === 'if') {
      p++;
      const condition = balanced('(', ')');
      skipNewlines();
      const body = parseValue();
      return { kind: 'if', condition, body, text: src.slice(first.start, t[p - 1]!.end) };
    }
    if (first.text === '{' || first.text === '[') {
      const node = first.text === '{' ? parseObject() : parseArray();
      // A literal that is the whole value; otherwise (e.g. `{...}.key`, `[...][0]`) fall through.
      const next = peek();
      if (!next || next.type === 'newline' || [',', '}', ']'].includes(next.text)) return node;
      p = startIndex;
    }
    // Any other expression: up to a newline, ',' '}' or ']' at depth 0; object literals inside
    // (ternaries, union arguments) are parsed so their keys can be read.
    const objects: Extract<BNode, { kind: 'object' }>[] = [];
    let depth = 0;
    const start = first.start;
    let end = start;
    for (;;) {
      const tok = peek();
      if (!tok) break;
      if (depth === 0 && (tok.text === ',' || tok.text === '}' || tok.text === ']')) break;
      if (tok.type === 'newline') {
        if (depth > 0) {
          p++;
          continue;
        }
        // A multi-line ternary continues on a line starting with '?' or ':'.
        let q = p;
        while (t[q]?.type === 'newline') q++;
        if (t[q] && (t[q]!.text === '?' || t[q]!.text === ':')) {
          p = q;
          continue;
        }
        break;
      }
      if (tok.text === '{') {
        const obj = parseObject();
        objects.push(obj);
        end = obj.text.length + src.indexOf(obj.text, tok.start);
        continue;
      }
      if (tok.text === '(' || tok.text === '[') depth++;
      if (tok.text === ')' || tok.text === ']') depth--;
      end = tok.end;
      p++;
    }
    if (end === start) fail('empty expression');
    return { kind: 'expr', text: src.slice(start, end), objects };
  }

  const decls: Decl[] = [];
  let decorators: string[] = [];
  for (;;) {
    skipNewlines();
    const tok = peek();
    if (!tok) break;
    if (tok.text === '@') {
      const start = t[p++]!.start;
      p++; // decorator name
      if (peek()?.text === '(') balanced('(', ')');
      decorators.push(src.slice(start, t[p - 1]!.end));
      continue;
    }
    const keyword = t[p++]!.text;
    if (keyword === 'targetScope') {
      expect('=');
      decls.push({ kind: 'targetScope', name: 'targetScope', value: parseValue(), decorators });
    } else if (keyword === 'param' || keyword === 'output') {
      const name = t[p++]!.text;
      const type = t[p++]!.text;
      let value: BNode | undefined;
      if (peek()?.text === '=') {
        p++;
        value = parseValue();
      } else if (keyword === 'output') fail('output without a value');
      decls.push({ kind: keyword, name, type, value, decorators });
    } else if (keyword === 'var') {
      const name = t[p++]!.text;
      expect('=');
      decls.push({ kind: 'var', name, value: parseValue(), decorators });
    } else if (keyword === 'resource' || keyword === 'module') {
      const name = t[p++]!.text;
      const typeTok = t[p++]!;
      if (typeTok.type !== 'string') fail(`${keyword} needs a quoted type or path`);
      let existing = false;
      if (peek()?.text === 'existing') {
        existing = true;
        p++;
      }
      expect('=');
      decls.push({ kind: keyword, name, type: unquote(typeTok.text), existing, value: parseValue(), decorators });
    } else fail(`unknown statement '${keyword}'`);
    decorators = [];
    const after = peek();
    if (after && after.type !== 'newline') fail('expected end of line');
  }
  return { file, text: src, decls };
}

// Helpers over the parsed files.

function readBicep(relative: string): BicepFile {
  const file = path.join(INFRA, relative);
  return parseBicep(file, readFileSync(file, 'utf8'));
}

const body = (node: BNode | undefined): BNode | undefined =>
  node?.kind === 'if' || node?.kind === 'for' ? body(node.body) : node;

function obj(node: BNode | undefined): Map<string, BNode> {
  const b = body(node);
  if (b?.kind !== 'object') throw new Error(`not an object: ${b?.text ?? 'undefined'}`);
  return b.entries;
}

/** Follows a dotted path through object literals. */
function at(node: BNode | undefined, dotted: string): BNode | undefined {
  let cur: BNode | undefined = node;
  for (const key of dotted.split('.')) {
    const b = body(cur);
    if (b?.kind !== 'object') return undefined;
    cur = b.entries.get(key);
  }
  return cur;
}

const text = (node: BNode | undefined) => node?.text.trim();

/** The value of a plain string literal (no interpolation), else undefined. */
function literal(node: BNode | undefined): string | undefined {
  const s = text(node);
  if (!s || !/^'[^']*'$/.test(s) || s.includes('${')) return undefined;
  return unquote(s);
}

const decl = (f: BicepFile, kind: Decl['kind'], name: string) => {
  const d = f.decls.find((x) => x.kind === kind && x.name === name);
  if (!d) throw new Error(`${path.basename(f.file)}: no ${kind} '${name}'`);
  return d;
};
const resources = (f: BicepFile, type?: string) =>
  f.decls.filter((d) => d.kind === 'resource' && (!type || d.type!.split('@')[0] === type));
const params = (f: BicepFile) => f.decls.filter((d) => d.kind === 'param');

/** A param default as a JS value (string, number or boolean literal). */
function paramDefault(f: BicepFile, name: string): string | number | boolean | undefined {
  const v = text(decl(f, 'param', name).value);
  if (v === undefined) return undefined;
  if (/^-?\d+$/.test(v.replace(/\s/g, ''))) return Number(v.replace(/\s/g, ''));
  if (v === 'true' || v === 'false') return v === 'true';
  return literal(decl(f, 'param', name).value);
}

// ---------------------------------------------------------------------------------------------
// The files

const main = readBicep('main.bicep');
const moduleDecls = main.decls.filter((d) => d.kind === 'module');
const modules = new Map(moduleDecls.map((m) => [m.name, readBicep(m.type!)]));
const allBicep = [main, ...modules.values()];
const moduleFile = (symbol: string) => modules.get(symbol) ?? (() => { throw new Error(`no module ${symbol}`); })();

const functionApp = moduleFile('api');
const appSettingsResource = resources(functionApp, 'Microsoft.Web/sites/config').find((r) => literal(at(r.value, 'name')) === 'appsettings');

/** The app settings: every object literal merged into the `appsettings` config resource. */
function readAppSettings(): { settings: Map<string, BNode>; conditional: Set<string> } {
  const props = at(appSettingsResource?.value, 'properties');
  if (!props) throw new Error('no appsettings properties');
  const settings = new Map<string, BNode>();
  const conditional = new Set<string>();
  const addFrom = (node: BNode, isConditional: boolean) => {
    const b = body(node)!;
    if (b.kind === 'object') for (const [k, v] of b.entries) (settings.set(k, v), isConditional && conditional.add(k));
    else if (b.kind === 'expr') {
      // union(a, b, …) of vars, or a ternary of object literals (conditional settings).
      const names = [...b.text.matchAll(/\b([A-Za-z_]\w*)\b/g)].map((m) => m[1]!);
      for (const name of names) {
        const v = functionApp.decls.find((d) => d.kind === 'var' && d.name === name);
        if (v?.value) addFrom(v.value, isConditional || body(v.value)!.kind !== 'object');
      }
      for (const o of b.objects) addFrom(o, isConditional || /\?/.test(b.text));
    }
  };
  addFrom(props, false);
  return { settings, conditional };
}
const { settings: appSettings, conditional: conditionalSettings } = readAppSettings();

/**
 * Follows a module parameter back to main.bicep: returns the main.bicep expression passed for it
 * (e.g. `jobsQueueName`, `identity.outputs.principalId`).
 */
function passedInMain(moduleSymbol: string, param: string): string | undefined {
  return text(at(decl(main, 'module', moduleSymbol).value, `params.${param}`));
}

// Settings the Functions host (or a library the code uses) reads, not settingsSchema. The one place
// that lists them.
const HOST_SETTINGS = {
  AzureWebJobsStorage__accountName: 'Functions host storage, identity-based (timer locks, host keys, diagnostic events).',
  AzureWebJobsStorage__credential: 'Functions host storage: use a managed identity.',
  AzureWebJobsStorage__clientId: 'Functions host storage: which user-assigned identity.',
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Functions host telemetry with Entra ID (App Insights local auth is off); src/telemetry.ts reads it too.',
  AZURE_CLIENT_ID: 'DefaultAzureCredential (@azure/identity) picks the user-assigned identity for the teacher.',
} as const;

// Settings in settingsSchema that a deployment deliberately does not set, and why.
const NOT_SET_IN_AZURE = {
  DISTILLERY_HOST: 'standalone server only (Functions serves HTTP).',
  DISTILLERY_PORT: 'standalone server only.',
  DISTILLERY_WORKER: 'standalone process only; in Azure the Service Bus trigger is the worker.',
  DISTILLERY_WORKER_THREAD: 'standalone process only (where its job worker runs).',
  DISTILLERY_CONFIG_JSON: 'inline alternative to DISTILLERY_CONFIG_FILE, for local runs and tests.',
  CosmosDb: 'connection string with a key: identity-based CosmosDb__* instead.',
  ServiceBusConnection: 'connection string with a SAS key: identity-based ServiceBusConnection__* instead.',
  ArtifactStorage: 'connection string with a key: identity-based ArtifactStorage__* instead.',
  DISTILLERY_DEMO_TEACHER_LATENCY_MS: 'the built-in demo teacher runs only in the standalone server.',
  DISTILLERY_ROTATE_OPERATOR_KEY: 'the operator key file exists only in the standalone server; Azure takes its keys from DISTILLERY_API_KEYS and POST /admin/keys.',
  DISTILLERY_ACCESS_LOG: 'its default (on) is what Azure wants: the lines go to the Functions log and so to Application Insights.',
} as const;

// Set only when the deployment is given a teacher key, and then as a Key Vault reference.
const CONDITIONAL = ['DISTILLERY_TEACHER_API_KEY'] as const;

const schemaKeys = Object.keys(settingsSchema.shape) as (keyof typeof settingsSchema.shape)[];

// ---------------------------------------------------------------------------------------------

describe('the Bicep reader', () => {
  it('reads every file in infra/ and finds the modules main.bicep uses', () => {
    const onDisk = readdirSync(path.join(INFRA, 'modules')).filter((f) => f.endsWith('.bicep')).sort();
    const used = [...modules.values()].map((m) => path.basename(m.file)).sort();
    expect(new Set(used)).toEqual(new Set(onDisk)); // no orphan module, no missing one
    for (const f of allBicep) expect(f.decls.length).toBeGreaterThan(0);
    expect(text(decl(main, 'targetScope', 'targetScope').value)).toBe("'subscription'");
  });

  it('rejects text it does not understand instead of skipping it', () => {
    expect(() => parseBicep('bad.bicep', "param x string\nfoo bar\n")).toThrow(/unknown statement 'foo'/);
    expect(() => parseBicep('bad.bicep', "var x = {\n  a: 'b'\n")).toThrow();
    expect(() => parseBicep('bad.bicep', "var x = 'unterminated\n")).toThrow(/newline in string/);
    const ok = parseBicep('ok.bicep', "var x = union(a, {\n  k: 'v${'{'}'\n}, b ? {} : { j: 1 })\nvar y = c\n  ? 1\n  : 2\n");
    const x = ok.decls[0]!.value!;
    expect(x.kind).toBe('expr');
    expect(x.kind === 'expr' && x.objects.flatMap((o) => [...o.entries.keys()])).toEqual(['k', 'j']);
    expect(text(ok.decls[1]!.value)).toBe('c\n  ? 1\n  : 2');
  });

  it('every module call passes only declared parameters, all required ones, and uses declared outputs', () => {
    for (const m of moduleDecls) {
      const file = moduleFile(m.name);
      const declared = new Map(params(file).map((p) => [p.name, p]));
      const passed = [...obj(at(m.value, 'params')).keys()];
      for (const name of passed) expect(declared.has(name), `${m.name}: unknown param ${name}`).toBe(true);
      for (const [name, p] of declared) if (p.value === undefined) expect(passed, `${m.name}: required param ${name}`).toContain(name);
    }
    for (const f of allBicep) {
      for (const [, symbol, output] of f.text.matchAll(/\b(\w+)\.outputs\.(\w+)/g)) {
        const target = modules.get(symbol!);
        expect(target, `${symbol}.outputs.${output}`).toBeDefined();
        expect(target!.decls.some((d) => d.kind === 'output' && d.name === output), `${symbol}.outputs.${output}`).toBe(true);
      }
    }
  });

  it('every resource names a type and an API version', () => {
    for (const f of allBicep) for (const r of resources(f)) expect(r.type, `${r.name} in ${f.file}`).toMatch(/^Microsoft\.[\w.]+\/[\w/]+@\d{4}-\d{2}-\d{2}(-preview)?$/);
  });
});

describe('Function App', () => {
  it('runs Node 22 on the Flex Consumption plan as the user-assigned identity, tagged for azd', () => {
    const [plan] = resources(functionApp, 'Microsoft.Web/serverfarms');
    expect(literal(at(plan!.value, 'sku.tier'))).toBe('FlexConsumption');
    expect(literal(at(plan!.value, 'sku.name'))).toBe('FC1');
    const [site] = resources(functionApp, 'Microsoft.Web/sites');
    expect(literal(at(site!.value, 'kind'))).toBe('functionapp,linux');
    expect(text(at(site!.value, 'properties.httpsOnly'))).toBe('true');
    expect(literal(at(site!.value, 'identity.type'))).toBe('UserAssigned');
    expect(literal(at(site!.value, 'properties.functionAppConfig.runtime.name'))).toBe('node');
    expect(literal(at(site!.value, 'properties.functionAppConfig.runtime.version'))).toBe('22');
    const deployment = at(site!.value, 'properties.functionAppConfig.deployment.storage');
    expect(literal(at(deployment, 'type'))).toBe('blobContainer');
    expect(literal(at(deployment, 'authentication.type'))).toBe('UserAssignedIdentity');
    expect(text(at(deployment, 'value'))).toContain('deploymentContainerName');
    expect(passedInMain('api', 'tags')).toMatch(/'azd-service-name':\s*'api'/);
    // FTP / SCM basic auth off.
    const policies = resources(functionApp, 'Microsoft.Web/sites/basicPublishingCredentialsPolicies');
    expect(policies.map((p) => literal(at(p.value, 'name'))).sort()).toEqual(['ftp', 'scm']);
    for (const p of policies) expect(text(at(p.value, 'properties.allow'))).toBe('false');
  });

  it('sets the Flex Consumption scale the capacity model chose (docs/capacity.md), and the Service Bus concurrency', () => {
    const [site] = resources(functionApp, 'Microsoft.Web/sites');
    const scale = at(site!.value, 'properties.functionAppConfig.scaleAndConcurrency');
    expect(text(at(scale, 'maximumInstanceCount'))).toBe('maximumInstanceCount');
    expect(text(at(scale, 'instanceMemoryMB'))).toBe('instanceMemoryMB');
    expect(text(at(scale, 'triggers.http.perInstanceConcurrency'))).toBe('httpPerInstanceConcurrency');
    for (const p of ['instanceMemoryMB', 'maximumInstanceCount', 'httpPerInstanceConcurrency']) expect(passedInMain('api', p), p).toBe(p);
    // The defaults are the model's output for the design workload (1,000 requests/s, peak 10,000).
    const model = flexSettings({ ...DESIGN_WORKLOAD, requestsPerSecond: 1000, teacherUsdPerRequest: 0 }, 10_000);
    expect(paramDefault(main, 'instanceMemoryMB')).toBe(model.instanceMemoryMB);
    expect(paramDefault(main, 'maximumInstanceCount')).toBe(model.maximumInstanceCount);
    expect(paramDefault(main, 'httpPerInstanceConcurrency')).toBe(model.httpPerInstanceConcurrency);
    // One CPU-bound training plus one I/O-bound stage-1 chunk per instance, as the standalone worker runs.
    const host = JSON.parse(readFileSync(path.join(ROOT, 'host.json'), 'utf8')) as { extensions: { serviceBus: { maxConcurrentCalls: number } } };
    expect(host.extensions.serviceBus.maxConcurrentCalls).toBe(2);
    expect(readFileSync(path.join(ROOT, 'src/compose/background-work.ts'), 'utf8')).toMatch(/maxConcurrentCalls: 2\b/);
  });

  it('sets every setting the code needs in production, under the names settingsSchema reads', () => {
    const missing = schemaKeys.filter((k) => !(k in NOT_SET_IN_AZURE) && !(CONDITIONAL as readonly string[]).includes(k) && !appSettings.has(k));
    expect(missing).toEqual([]);
    for (const k of Object.keys(NOT_SET_IN_AZURE)) expect(schemaKeys, `${k} is no longer a setting`).toContain(k);
  });

  it('sets nothing that neither the code nor the Functions host reads', () => {
    const known = new Set<string>([...schemaKeys, ...Object.keys(HOST_SETTINGS)]);
    expect([...appSettings.keys()].filter((k) => !known.has(k))).toEqual([]);
    for (const k of Object.keys(NOT_SET_IN_AZURE)) expect(appSettings.has(k), `${k} must not be set in Azure`).toBe(false);
    // Flex Consumption sets the runtime in functionAppConfig and rejects these.
    expect(appSettings.has('FUNCTIONS_WORKER_RUNTIME')).toBe(false);
    expect(appSettings.has('FUNCTIONS_EXTENSION_VERSION')).toBe(false);
  });

  it('sets every app setting the function triggers name (%SETTING% expressions, connection prefixes)', () => {
    const dir = path.join(ROOT, 'functions');
    const sources = readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => [f, readFileSync(path.join(dir, f), 'utf8')] as const);
    expect(sources.length).toBeGreaterThan(0);
    for (const [file, source] of sources) {
      for (const [, name] of source.matchAll(/'%(\w+)%'/g)) expect(appSettings.has(name!), `${file}: %${name}%`).toBe(true);
      for (const [, prefix] of source.matchAll(/connection:\s*'(\w+)'/g)) {
        const identityKeys = [...appSettings.keys()].filter((k) => k.startsWith(`${prefix}__`));
        expect(identityKeys, `${file}: connection '${prefix}'`).toEqual(expect.arrayContaining([`${prefix}__credential`, `${prefix}__clientId`]));
        expect(identityKeys.length, `${file}: connection '${prefix}' needs its endpoint`).toBeGreaterThanOrEqual(3);
      }
    }
  });

  it('the code reads the environment only through settingsSchema', () => {
    // A direct process.env.X read would be a setting this test cannot see; only whole-environment
    // hand-offs to loadConfig are allowed.
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.name.endsWith('.ts')) {
          for (const m of readFileSync(full, 'utf8').matchAll(/process\.env(\.\w+|\[[^\]]+\])/g)) offenders.push(`${path.relative(ROOT, full)}: ${m[0]}`);
        }
      }
    };
    walk(path.join(ROOT, 'src'));
    walk(path.join(ROOT, 'functions'));
    expect(offenders).toEqual([]);
  });

  it('connects to every service with the managed identity, never a connection string', () => {
    for (const prefix of ['CosmosDb', 'ServiceBusConnection', 'ArtifactStorage', 'AzureWebJobsStorage']) {
      expect(literal(appSettings.get(`${prefix}__credential`)), prefix).toBe('managedidentity');
      expect(text(appSettings.get(`${prefix}__clientId`)), prefix).toBe('identityClientId');
      expect(appSettings.has(prefix), `${prefix} as a connection string`).toBe(false);
    }
    expect(text(appSettings.get('CosmosDb__accountEndpoint'))).toBe('cosmosEndpoint');
    expect(text(appSettings.get('ServiceBusConnection__fullyQualifiedNamespace'))).toBe('serviceBusNamespace');
    expect(text(appSettings.get('ArtifactStorage__blobServiceUri'))).toBe('storageBlobEndpoint');
    expect(text(appSettings.get('AZURE_CLIENT_ID'))).toBe('identityClientId');
    expect(text(appSettings.get('APPLICATIONINSIGHTS_AUTHENTICATION_STRING'))).toBe("'ClientId=${identityClientId};Authorization=AAD'");
    expect(passedInMain('api', 'identityClientId')).toBe('identity.outputs.clientId');
    expect(passedInMain('api', 'cosmosEndpoint')).toBe('cosmos.outputs.endpoint');
    expect(passedInMain('api', 'serviceBusNamespace')).toBe('serviceBus.outputs.fullyQualifiedNamespace');
    expect(passedInMain('api', 'storageBlobEndpoint')).toBe('storage.outputs.blobEndpoint');
  });

  // A small evaluator for the expression forms the app settings use (literals, interpolation,
  // parameters, vars, string(), toLower(), empty() ? : ), so the settings Azure would get can be
  // fed to the real loadConfig.
  function evaluate(node: BNode, scope: Record<string, unknown>): unknown {
    const b = body(node)!;
    if (b.kind === 'object') return Object.fromEntries([...b.entries].map(([k, v]) => [k, evaluate(v, scope)]));
    if (b.kind === 'array') return b.items.map((i) => evaluate(i, scope));
    if (b.kind !== 'expr') throw new Error(`cannot evaluate ${b.text}`);
    return evaluateText(b.text.trim(), scope);
  }
  function evaluateText(expr: string, scope: Record<string, unknown>): unknown {
    const ternary = /^empty\((\w+)\) \? (.+?) : (.+)$/.exec(expr);
    if (ternary) return evaluateText(isEmpty(lookup(ternary[1]!, scope)) ? ternary[2]! : ternary[3]!, scope);
    const call = /^(string|toLower)\((\w+)\)$/.exec(expr);
    if (call) {
      const v = lookup(call[2]!, scope);
      return call[1] === 'toLower' ? String(v).toLowerCase() : typeof v === 'object' ? JSON.stringify(v) : String(v);
    }
    if (/^'.*'$/.test(expr)) return unquote(expr).replace(/\$\{(\w+)\}/g, (_, name: string) => String(lookup(name, scope)));
    if (/^-?\d+$/.test(expr)) return Number(expr);
    if (/^\w+$/.test(expr)) return lookup(expr, scope);
    throw new Error(`unsupported expression: ${expr}`);
  }
  const isEmpty = (v: unknown) => v === '' || v === undefined || (Array.isArray(v) && v.length === 0);
  function lookup(name: string, scope: Record<string, unknown>): unknown {
    if (name in scope) return scope[name];
    const v = functionApp.decls.find((d) => d.kind === 'var' && d.name === name);
    if (v?.value) return evaluate(v.value, scope);
    throw new Error(`no value for ${name}`);
  }

  /** The app settings Azure would get: main.bicep defaults, plus `overrides`, plus sample resource outputs. */
  function deployedEnvironment(overrides: Record<string, unknown> = {}): Record<string, string> {
    const outputs: Record<string, unknown> = {
      'identity.outputs.clientId': '6a1f0c52-3f4e-4b8e-9d51-2b1c9a7e0d11',
      'identity.outputs.id': '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-x',
      'cosmos.outputs.endpoint': 'https://cosmos-x.documents.azure.com:443/',
      'serviceBus.outputs.fullyQualifiedNamespace': 'sb-x.servicebus.windows.net',
      'storage.outputs.blobEndpoint': 'https://stx.blob.core.windows.net/',
      'storage.outputs.name': 'stx',
      'storage.outputs.deploymentContainerName': 'app-package-x',
      'monitoring.outputs.applicationInsightsConnectionString': 'InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=https://swedencentral-0.in.applicationinsights.azure.com/',
    };
    const mainValues: Record<string, unknown> = { resourceToken: 'x' };
    for (const p of params(main)) mainValues[p.name] = paramDefault(main, p.name);
    Object.assign(mainValues, overrides);
    const scope: Record<string, unknown> = {};
    for (const p of params(functionApp)) {
      const passed = passedInMain('api', p.name);
      if (passed === undefined) continue;
      if (passed in outputs) scope[p.name] = outputs[passed];
      else if (passed in mainValues) scope[p.name] = mainValues[passed];
      else if (/^empty\(teacherApiKey\)/.test(passed)) scope[p.name] = isEmpty(mainValues.teacherApiKey) ? '' : 'https://kv-x.vault.azure.net/secrets/teacher-api-key';
      else if (/^'/.test(passed)) scope[p.name] = evaluateText(passed, mainValues);
      else if (/^union\(tags/.test(passed)) scope[p.name] = {};
      else throw new Error(`cannot resolve ${p.name} = ${passed}`);
    }
    return Object.fromEntries([...appSettings].filter(([k]) => !conditionalSettings.has(k) || !isEmpty(mainValues.teacherApiKey)).map(([k, v]) => [k, String(evaluate(v, scope))]));
  }

  it('the settings Azure gets load with the real loadConfig', () => {
    const sha256 = 'ab'.repeat(32);
    // The document stands in for data/distillery.config.json, which ships with the code.
    const document = { DISTILLERY_CONFIG_JSON: JSON.stringify({ models: {}, tasks: [] }) };
    const plain = loadConfig({ ...deployedEnvironment({ apiKeySha256: sha256.toUpperCase() }), ...document });
    expect(plain.settings).toMatchObject({
      DISTILLERY_STORE: 'cosmos',
      DISTILLERY_QUEUE: 'servicebus',
      DISTILLERY_ARTIFACTS: 'blob',
      CosmosDb__accountEndpoint: 'https://cosmos-x.documents.azure.com:443/',
      CosmosDb__credential: 'managedidentity',
      ServiceBusConnection__fullyQualifiedNamespace: 'sb-x.servicebus.windows.net',
      ArtifactStorage__blobServiceUri: 'https://stx.blob.core.windows.net/',
      DISTILLERY_JOBS_QUEUE: 'distill-jobs',
      DISTILLERY_JOB_MAX_DELIVERIES: 5,
      DISTILLERY_PAIR_TTL_SECONDS: -1,
    });
    expect(plain.apiKeys).toEqual([{ tenant: '*', scopes: ['chat', 'admin'], sha256 }]);
    expect(plain.document.models.teacher).toBeUndefined();

    const teacher = loadConfig({
      ...deployedEnvironment({ teacherProvider: 'azure-openai', teacherEndpoint: 'https://aoai-x.openai.azure.com/', teacherDeployment: 'gpt-4o' }),
      ...document,
    });
    expect(teacher.document.models.teacher).toMatchObject({ provider: 'azure-openai', endpoint: 'https://aoai-x.openai.azure.com/', deployment: 'gpt-4o', auth: 'entra' });
    const foundry = loadConfig({
      ...deployedEnvironment({ teacherProvider: 'openai', teacherBaseUrl: 'https://ai-x.services.ai.azure.com/models', teacherDeployment: 'DeepSeek-V3' }),
      ...document,
    });
    expect(foundry.document.models.teacher).toMatchObject({ provider: 'openai', baseURL: 'https://ai-x.services.ai.azure.com/models', model: 'DeepSeek-V3', auth: 'entra' });
    const keyed = deployedEnvironment({ teacherApiKey: 'not-a-real-key' });
    expect(keyed.DISTILLERY_TEACHER_API_KEY).toBe('@Microsoft.KeyVault(SecretUri=https://kv-x.vault.azure.net/secrets/teacher-api-key)');
    expect(Object.values(keyed).join('\n')).not.toContain('not-a-real-key');
  });

  it('selects the Azure adapters with values the schema accepts', () => {
    expect(literal(appSettings.get('DISTILLERY_STORE'))).toBe('cosmos');
    expect(literal(appSettings.get('DISTILLERY_QUEUE'))).toBe('servicebus');
    expect(literal(appSettings.get('DISTILLERY_ARTIFACTS'))).toBe('blob');
    for (const [key, node] of appSettings) {
      const value = literal(node);
      const field = (settingsSchema.shape as Record<string, { safeParse(v: unknown): { success: boolean } }>)[key];
      if (value !== undefined && field) expect(field.safeParse(value).success, `${key}=${value}`).toBe(true);
    }
  });

  it('sets the teacher key only as a Key Vault reference, and only when one is given', () => {
    for (const k of CONDITIONAL) {
      expect(conditionalSettings.has(k), `${k} is conditional`).toBe(true);
      expect(text(appSettings.get(k))).toMatch(/^'@Microsoft\.KeyVault\(SecretUri=\$\{\w+\}\)'$/);
    }
    expect(passedInMain('api', 'teacherApiKeySecretUri')).toBe("empty(teacherApiKey) ? '' : teacherKey.outputs.secretUri");
    const teacherKeyModule = decl(main, 'module', 'teacherKey').value;
    expect(teacherKeyModule?.kind).toBe('if');
    expect(teacherKeyModule?.kind === 'if' && teacherKeyModule.condition).toBe('(!empty(teacherApiKey))');
  });

  it('uses the same parameter for a setting and for the resource it names, with the schema defaults', () => {
    // [app setting, main.bicep param, the module and module param of the resource it must match]
    const wiring: [string, string, string?, string?][] = [
      ['DISTILLERY_JOBS_QUEUE', 'jobsQueueName', 'serviceBus', 'queueName'],
      ['DISTILLERY_JOB_MAX_DELIVERIES', 'jobMaxDeliveries', 'serviceBus', 'maxDeliveryCount'],
      ['DISTILLERY_ARTIFACT_CONTAINER', 'artifactContainerName', 'storage', 'artifactContainerName'],
      ['DISTILLERY_COSMOS_DATABASE', 'cosmosDatabaseName', 'cosmos', 'databaseName'],
      ['DISTILLERY_PAIR_TTL_SECONDS', 'pairTtlSeconds', 'cosmos', 'pairTtlSeconds'],
      ['DISTILLERY_REDISTILL_SCHEDULE', 'redistillSchedule'],
      ['DISTILLERY_MAX_BODY_BYTES', 'maxBodyBytes'],
      ['DISTILLERY_CORS_ORIGINS', 'corsOrigins'],
    ];
    for (const [setting, mainParam, mod, modParam] of wiring) {
      const value = text(appSettings.get(setting))!;
      const functionParam = value.replace(/^string\((\w+)\)$/, '$1');
      expect(params(functionApp).map((p) => p.name), setting).toContain(functionParam);
      expect(passedInMain('api', functionParam), setting).toBe(mainParam);
      if (mod) expect(passedInMain(mod, modParam!), `${mod}.${modParam}`).toBe(mainParam);
      const schemaDefault = (settingsSchema.shape as Record<string, { parse(v: unknown): unknown }>)[setting]!.parse(undefined);
      expect(paramDefault(main, mainParam), `${mainParam} default`).toEqual(schemaDefault);
    }
    expect(paramDefault(main, 'configFile')).toBe(DEFAULT_DOCUMENT_PATH);
    expect(passedInMain('api', 'configFile')).toBe('configFile');
  });
});

describe('data resources the code needs', () => {
  const cosmos = moduleFile('cosmos');

  it('creates every Cosmos DB container with the partition keys and indexing the adapters expect', () => {
    const loaded = text(decl(cosmos, 'var', 'containers').value)!;
    const jsonFile = /^loadJsonContent\('([^']+)'\)$/.exec(loaded)?.[1];
    expect(jsonFile).toBeDefined();
    const json = JSON.parse(readFileSync(path.join(INFRA, 'modules', jsonFile!), 'utf8')) as unknown;
    // When the adapters change their containers, regenerate the copy:
    // npx tsx -e "import('./src/adapters/cosmos/cosmos-containers.ts').then((m) => console.log(JSON.stringify(m.containerDefinitions({ databaseId: 'distillery' }), null, 2)))" > infra/modules/cosmos-containers.json
    expect(json, 'infra/modules/cosmos-containers.json is out of date').toEqual(containerDefinitions({ databaseId: 'distillery' }));
    const ids = Object.values(json as Record<string, { id: string }>).map((c) => c.id);
    expect(ids.sort()).toEqual(Object.values(defaultContainerNames).sort());

    const [containers] = resources(cosmos, 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers');
    expect(containers!.value!.kind).toBe('for');
    expect((containers!.value as { header: string }).header).toBe('for c in items(containers)');
    expect(text(at(containers!.value, 'name'))).toBe('c.value.id');
    const resource = text(at(containers!.value, 'properties.resource'))!;
    expect(resource).toMatch(/^union\(\s*c\.value,/);
    expect(resource).toContain("c.key == 'pairs' ? { defaultTtl: pairTtlSeconds } : {}");
  });

  it('makes the Cosmos DB account serverless and keyless, with a database-scoped data-plane role', () => {
    const [account] = resources(cosmos, 'Microsoft.DocumentDB/databaseAccounts');
    expect(text(at(account!.value, 'properties.capabilities'))).toContain("'EnableServerless'");
    expect(text(at(account!.value, 'properties.disableLocalAuth'))).toBe('true');
    const [database] = resources(cosmos, 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases');
    expect(text(at(database!.value, 'name'))).toBe('databaseName');
    const [assignment] = resources(cosmos, 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments');
    expect(text(at(assignment!.value, 'properties.roleDefinitionId'))).toBe("'${account.id}/sqlRoleDefinitions/${cosmosDataContributor}'");
    expect(literal(decl(cosmos, 'var', 'cosmosDataContributor').value)).toBe('00000000-0000-0000-0000-000000000002');
    expect(text(at(assignment!.value, 'properties.principalId'))).toBe('principalId');
    expect(text(at(assignment!.value, 'properties.scope'))).toBe("'${account.id}/dbs/${databaseName}'");
  });

  it('creates the jobs queue with dead-lettering, duplicate detection and the delivery limit the app reads', () => {
    const sb = moduleFile('serviceBus');
    const [namespace] = resources(sb, 'Microsoft.ServiceBus/namespaces');
    expect(text(at(namespace!.value, 'properties.disableLocalAuth'))).toBe('true');
    expect(literal(at(namespace!.value, 'sku.name'))).toBe('Standard');
    const [queue] = resources(sb, 'Microsoft.ServiceBus/namespaces/queues');
    expect(text(at(queue!.value, 'name'))).toBe('queueName');
    expect(text(at(queue!.value, 'properties.maxDeliveryCount'))).toBe('maxDeliveryCount');
    expect(text(at(queue!.value, 'properties.deadLetteringOnMessageExpiration'))).toBe('true');
    expect(text(at(queue!.value, 'properties.requiresDuplicateDetection'))).toBe('true');
  });

  it('creates the artifact and deployment containers in a storage account without shared keys', () => {
    const st = moduleFile('storage');
    const [account] = resources(st, 'Microsoft.Storage/storageAccounts');
    expect(text(at(account!.value, 'properties.allowSharedKeyAccess'))).toBe('false');
    expect(text(at(account!.value, 'properties.allowBlobPublicAccess'))).toBe('false');
    const containers = resources(st, 'Microsoft.Storage/storageAccounts/blobServices/containers').map((c) => text(at(c.value, 'name')));
    expect(containers.sort()).toEqual(['artifactContainerName', 'deploymentContainerName']);
    expect(passedInMain('api', 'deploymentContainerName')).toBe('storage.outputs.deploymentContainerName');
    expect(passedInMain('api', 'storageAccountName')).toBe('storage.outputs.name');
  });

  it('turns local auth off on Application Insights', () => {
    const mon = moduleFile('monitoring');
    const [ai] = resources(mon, 'Microsoft.Insights/components');
    expect(text(at(ai!.value, 'properties.DisableLocalAuth'))).toBe('true');
    expect(text(at(ai!.value, 'properties.WorkspaceResourceId'))).toBe('workspace.id');
    expect(text(appSettings.get('APPLICATIONINSIGHTS_CONNECTION_STRING'))).toBe('applicationInsightsConnectionString');
  });
});

describe('roles', () => {
  // Built-in role ids (they are the same in every tenant).
  const NEEDED = {
    'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner (host storage, deployment package, artifacts)',
    '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': 'Storage Table Data Contributor (host diagnostic events)',
    '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39': 'Azure Service Bus Data Sender (enqueue jobs)',
    '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0': 'Azure Service Bus Data Receiver (job trigger)',
    '3913510d-42f4-4e42-8a64-420c390055eb': 'Monitoring Metrics Publisher (Entra ingestion to App Insights)',
    '4633458b-17de-408a-b874-0445c86b69e6': 'Key Vault Secrets User (teacher key reference, when given)',
    '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd': 'Cognitive Services OpenAI User (Azure OpenAI teacher, keyless)',
    'a97b65f3-24c7-4388-baec-2e87135dc908': 'Cognitive Services User (Foundry models teacher, keyless)',
    'f6c7c914-8db3-469d-8ca1-694a8f32e121': 'AzureML Data Scientist (azure-ml trainer: data, jobs, models, serverless endpoints; no compute)',
  };
  const TOO_BROAD = {
    '8e3af657-a8ff-443c-a75c-2fe8c4bcb635': 'Owner',
    'b24988ac-6180-42a0-ab88-20f7382dd24c': 'Contributor',
    '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9': 'User Access Administrator',
    '17d1049b-9a84-46fb-8f53-869881c3d3ab': 'Storage Account Contributor',
    '090c5cfd-751d-490a-894a-3ce6f1109419': 'Azure Service Bus Data Owner',
    '974c5e8b-45b9-4653-ba55-5f855dd0fb88': 'Storage Queue Data Contributor (no blob or queue trigger needs it)',
    '00482a5a-887f-4fb3-b363-3b7fe8e74483': 'Key Vault Administrator',
  };

  /** Every role id a roleAssignment can grant, resolved through the vars of its file. */
  function assignedRoles(): { file: string; roles: string[]; principal: string | undefined; principalType: string | undefined }[] {
    const out = [];
    for (const f of allBicep) {
      const vars = new Map(f.decls.filter((d) => d.kind === 'var').map((d) => [d.name, text(d.value)!]));
      const resolve = (expr: string, seen = new Set<string>()): string[] => {
        const ids = [...expr.matchAll(/'([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'/g)].map((m) => m[1]!);
        for (const [, name] of expr.matchAll(/\b([A-Za-z_]\w*)\b/g)) {
          if (vars.has(name!) && !seen.has(name!)) ids.push(...resolve(vars.get(name!)!, new Set([...seen, name!])));
        }
        return ids;
      };
      for (const r of resources(f, 'Microsoft.Authorization/roleAssignments')) {
        out.push({
          file: path.basename(f.file),
          roles: resolve(text(at(r.value, 'properties.roleDefinitionId'))!),
          principal: text(at(r.value, 'properties.principalId')),
          principalType: literal(at(r.value, 'properties.principalType')),
        });
      }
    }
    return out;
  }

  it('grants the app identity every role it needs and nothing broader', () => {
    const assigned = assignedRoles();
    const granted = new Set(assigned.flatMap((a) => a.roles));
    expect([...granted].sort()).toEqual(Object.keys(NEEDED).sort());
    for (const id of Object.keys(TOO_BROAD)) expect(granted.has(id), TOO_BROAD[id as keyof typeof TOO_BROAD]).toBe(false);
    for (const a of assigned) {
      expect(a.roles.length, a.file).toBeGreaterThan(0);
      expect(a.principal, a.file).toBe('principalId');
      expect(a.principalType, a.file).toBe('ServicePrincipal');
    }
    // Each module's principalId is the app identity's.
    for (const m of moduleDecls) {
      if (params(moduleFile(m.name)).some((p) => p.name === 'principalId')) {
        expect(passedInMain(m.name, 'principalId'), m.name).toBe('identity.outputs.principalId');
      }
    }
  });

  it('creates the Azure ML workspace only when named, keyless, with its role scoped to the workspace', () => {
    const call = moduleDecls.find((m) => m.name === 'azureMl');
    expect(call, 'main.bicep references modules/azure-ml.bicep').toBeDefined();
    expect(readFileSync(path.join(INFRA, 'main.bicep'), 'utf8')).toMatch(/module azureMl 'modules\/azure-ml\.bicep' = if \(!empty\(azureMlWorkspaceName\)\)/);
    const ml = moduleFile('azureMl');
    const [ws] = resources(ml, 'Microsoft.MachineLearningServices/workspaces');
    expect(literal(at(ws!.value, 'properties.systemDatastoresAuthMode'))).toBe('identity');
    for (const r of resources(ml, 'Microsoft.Authorization/roleAssignments')) expect(text(at(r.value, 'scope'))).toBe('workspace');
    expect(passedInMain('azureMl', 'storageAccountName')).toBe('storage.outputs.name');
  });

  it('scopes the Service Bus roles to the jobs queue', () => {
    const sb = moduleFile('serviceBus');
    for (const r of resources(sb, 'Microsoft.Authorization/roleAssignments')) expect(text(at(r.value, 'scope'))).toBe('jobsQueue');
  });
});

describe('secrets', () => {
  const SECRET_PATTERNS: [RegExp, string][] = [
    [/AccountKey\s*=/i, 'storage / Cosmos DB account key'],
    [/SharedAccessKey(Name)?\s*=/i, 'Service Bus SAS key'],
    [/SharedAccessSignature|[?&]sig=/i, 'SAS token'],
    [/\blistKeys\s*\(/i, 'listKeys()'],
    [/\blist(Connection|Account)?Strings?\s*\(|\blistAccountSas\s*\(|\blistServiceSas\s*\(/i, 'list*() secret functions'],
    [/primary(Master|ReadonlyMaster)?Key|secondary(Master|ReadonlyMaster)?Key|primaryConnectionString/i, 'account keys'],
    [/Password\s*=|adminPassword|\bpassword\s*:/i, 'password'],
    [/DefaultEndpointsProtocol=/i, 'storage connection string'],
    [/\bapi[-_]?key\s*[:=]\s*'[^']+'/i, 'literal API key'],
  ];
  const scan = (content: string) => SECRET_PATTERNS.filter(([re]) => re.test(content)).map(([, what]) => what);

  it('the scanner recognises the secrets it is meant to catch', () => {
    expect(scan("value: 'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc=='")).toEqual(
      expect.arrayContaining(['storage / Cosmos DB account key', 'storage connection string']),
    );
    expect(scan("'Endpoint=sb://x/;SharedAccessKeyName=Root;SharedAccessKey=abc'")).toContain('Service Bus SAS key');
    expect(scan('output k string = account.listKeys().keys[0].value')).toContain('listKeys()');
    expect(scan('cosmos.listConnectionStrings().connectionStrings[0]')).toContain('list*() secret functions');
    expect(scan('account.properties.primaryMasterKey')).toContain('account keys');
    expect(scan("https://x.blob.core.windows.net/c?sv=2024&sig=abc")).toContain('SAS token');
    expect(scan("param x string\nvar y = x")).toEqual([]);
  });

  it('no key, password, SAS or connection string with a secret appears in infra/ or azure.yaml', () => {
    const files = [
      ...allBicep.map((f) => f.file),
      path.join(INFRA, 'main.parameters.json'),
      ...readdirSync(path.join(INFRA, 'modules')).filter((f) => f.endsWith('.json')).map((f) => path.join(INFRA, 'modules', f)),
      path.join(ROOT, 'azure.yaml'),
    ];
    for (const file of files) expect(scan(readFileSync(file, 'utf8')), path.relative(ROOT, file)).toEqual([]);
  });

  it('outputs carry no secret and secure parameters go nowhere but Key Vault', () => {
    for (const f of allBicep) {
      const secure = params(f).filter((p) => p.decorators.some((d) => d.startsWith('@secure')));
      for (const o of f.decls.filter((d) => d.kind === 'output')) {
        for (const s of secure) expect(text(o.value), `${o.name} uses ${s.name}`).not.toMatch(new RegExp(`\\b${s.name}\\b`));
      }
    }
    for (const o of main.decls.filter((d) => d.kind === 'output')) expect(o.name).not.toMatch(/KEY|SECRET|PASSWORD|CONNECTION_STRING|TOKEN/i);
    // main.bicep: the teacher key is only tested for emptiness or handed to the Key Vault module.
    const uses = [...main.text.matchAll(/^.*\bteacherApiKey\b.*$/gm)].map((m) => m[0].trim()).filter((l) => !l.startsWith('param') && !l.startsWith('@'));
    for (const line of uses) expect(line, line).toMatch(/empty\(teacherApiKey\)|^secretValue: teacherApiKey$/);
    const kv = moduleFile('teacherKey');
    expect(decl(kv, 'param', 'secretValue').decorators).toContain('@secure()');
    const secretUses = [...kv.text.matchAll(/^.*\bsecretValue\b.*$/gm)].map((m) => m[0].trim()).filter((l) => !l.startsWith('param'));
    expect(secretUses).toEqual(['value: secretValue']);
  });
});

describe('azd', () => {
  /** A YAML subset reader (nested maps of scalars, comments): enough for azure.yaml. */
  function readYaml(src: string): Record<string, unknown> {
    const rootMap: Record<string, unknown> = {};
    const stack: { indent: number; map: Record<string, unknown> }[] = [{ indent: -1, map: rootMap }];
    for (const raw of src.split('\n')) {
      const line = raw.replace(/\s+#.*$/, '').replace(/^\s*#.*$/, '');
      if (!line.trim()) continue;
      const indent = line.length - line.trimStart().length;
      const m = /^([\w.-]+):\s*(.*)$/.exec(line.trim());
      if (!m) throw new Error(`unsupported YAML: ${raw}`);
      while (stack.at(-1)!.indent >= indent) stack.pop();
      const parent = stack.at(-1)!.map;
      if (m[2]) parent[m[1]!] = m[2].replace(/^(['"])(.*)\1$/, '$2');
      else {
        const child: Record<string, unknown> = {};
        parent[m[1]!] = child;
        stack.push({ indent, map: child });
      }
    }
    return rootMap;
  }

  it('azure.yaml deploys service api as a TypeScript function app built by npm run build', () => {
    const yaml = readYaml(readFileSync(path.join(ROOT, 'azure.yaml'), 'utf8')) as {
      infra: Record<string, string>;
      services: { api: { project: string; language: string; host: string; hooks: { prepackage: Record<string, { run: string }> } } };
    };
    expect(yaml.infra).toMatchObject({ provider: 'bicep', path: 'infra', module: 'main' });
    expect(yaml.services.api).toMatchObject({ project: '.', language: 'ts', host: 'function' });
    for (const os of ['posix', 'windows']) expect(yaml.services.api.hooks.prepackage[os]!.run).toBe('npm run build');
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.build).toBeDefined();
  });

  it('main.parameters.json maps azd environment values onto real parameters, every required one included', () => {
    const file = JSON.parse(readFileSync(path.join(INFRA, 'main.parameters.json'), 'utf8')) as { parameters: Record<string, { value: unknown }> };
    const declared = new Map(params(main).map((p) => [p.name, p]));
    for (const [name, { value }] of Object.entries(file.parameters)) {
      expect(declared.has(name), name).toBe(true);
      expect(declared.get(name)!.type, name).toBe('string'); // azd substitutes text: only string params
      expect(value, name).toMatch(/^\$\{[A-Z_][A-Z0-9_]*(=[^}]*)?\}$/);
    }
    for (const [name, p] of declared) if (p.value === undefined) expect(Object.keys(file.parameters), name).toContain(name);
    expect(file.parameters.environmentName!.value).toBe('${AZURE_ENV_NAME}');
    expect(file.parameters.location!.value).toBe('${AZURE_LOCATION}');
  });

  it('every settingsSchema key is listed in local.settings.sample.json', () => {
    const sample = JSON.parse(readFileSync(path.join(ROOT, 'local.settings.sample.json'), 'utf8')) as { Values: Record<string, string> };
    expect(schemaKeys.filter((k) => !(k in sample.Values))).toEqual([]);
  });
});
