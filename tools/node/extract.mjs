// Reads JavaScript files with a real parser (acorn) and prints, as JSON, the facts the
// Node.js compat check (src/etl_platform/artifacts/node_compat.py) judges: syntax errors,
// every import/require with its line, every exported function (parameters, async, whether
// it returns a value, the context methods it calls, the asynchronous work it starts),
// uses of Node built-in module members, aws-sdk v2 names (`new AWS.X`, `AWS.config`),
// context.callbackWaitsForEmptyEventLoop, the AWS SDK calls (v3 commands, v3 aggregated
// clients, v2 clients) with the exports that reach them, comments, comment-like string
// literals, method calls on PascalCase fields (`Plaintext.toString()`) and stray top-level
// empty statements. Policy (what is refused, and the fix) lives in Python; this script
// only reports what the code says.
//
// Usage: node extract.mjs [--node-major N] <file>...
//   JSON on stdout: {"node", "builtins", "files": [...]}. A package.json argument is read
//   as a manifest instead: its dependencies and whether engines.node admits Node N.
import { readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join } from "node:path";
import * as acorn from "acorn";
import * as walk from "acorn-walk";
import semver from "semver";

const OPTIONS = { ecmaVersion: "latest", locations: true, allowHashBang: true };

function packageType(file) {
  // Node: the nearest package.json's "type" decides what a .js file is.
  let dir = dirname(file);
  for (;;) {
    try {
      return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).type ?? null;
    } catch {
      const parent = dirname(dir);
      if (parent === dir) return null;
      dir = parent;
    }
  }
}

function parse(file, text) {
  if (file.endsWith(".mjs")) return [acorn.parse(text, { ...OPTIONS, sourceType: "module" }), "module"];
  if (file.endsWith(".cjs")) return [acorn.parse(text, { ...OPTIONS, sourceType: "script", allowReturnOutsideFunction: true }), "script"];
  const type = packageType(file);
  if (type === "module") return [acorn.parse(text, { ...OPTIONS, sourceType: "module" }), "module"];
  // CommonJS, unless it only parses as ESM (Node 22+ detects module syntax in .js).
  try {
    return [acorn.parse(text, { ...OPTIONS, sourceType: "script", allowReturnOutsideFunction: true }), "script"];
  } catch (scriptError) {
    try {
      return [acorn.parse(text, { ...OPTIONS, sourceType: "module" }), "module"];
    } catch {
      throw scriptError;
    }
  }
}

const literal = (node) =>
  node && node.type === "Literal" && typeof node.value === "string"
    ? node.value
    : node && node.type === "TemplateLiteral" && node.expressions.length === 0
      ? node.quasis[0].value.cooked
      : null;

const isRequire = (node) =>
  node.type === "CallExpression" && node.callee.type === "Identifier" && node.callee.name === "require" && node.arguments.length >= 1;

const isFunction = (node) =>
  node && ["FunctionExpression", "ArrowFunctionExpression", "FunctionDeclaration"].includes(node.type);

// module.exports.X / exports.X / module.exports
function exportTarget(node) {
  if (node.type !== "MemberExpression") return null;
  const prop = node.computed ? literal(node.property) : node.property.name;
  const obj = node.object;
  if (obj.type === "Identifier" && obj.name === "exports") return prop;
  if (obj.type === "MemberExpression" && !obj.computed && obj.object.type === "Identifier" && obj.object.name === "module" && obj.property.name === "exports") return prop;
  if (obj.type === "Identifier" && obj.name === "module" && prop === "exports") return "*";
  return null;
}

const TIMERS = new Set(["setTimeout", "setInterval", "setImmediate"]);
const isV2 = (module) => module === "aws-sdk" || module.startsWith("aws-sdk/");
const isV3 = (module) => module.startsWith("@aws-sdk/");

// Whether `fn` returns a value: an expression body, or a `return <value>` of its own
// (not of a function nested in it).
function returnsValue(fn) {
  if (fn.type === "ArrowFunctionExpression" && fn.expression) return true;
  let found = false;
  walk.recursive(fn.body, null, {
    Function() {},
    ReturnStatement(node) {
      if (node.argument) found = true;
    },
  });
  return found;
}

function extract(file) {
  const text = readFileSync(file, "utf8");
  const comments = [];
  let ast, sourceType;
  try {
    [ast, sourceType] = parse(file, text);
  } catch (error) {
    return { path: file, syntaxError: { line: error.loc?.line ?? 0, message: error.message } };
  }
  // Comments are collected by a second, comment-only parse of the same text.
  acorn.parse(text, {
    ...OPTIONS,
    sourceType,
    allowReturnOutsideFunction: sourceType === "script",
    onComment: (block, value, _start, _end, loc) => comments.push({ line: loc.line, text: value.trim() }),
  });
  const imports = [];
  const handlers = [];
  const memberUses = [];
  const callbackWaits = [];
  const awsClients = [];
  const v2Members = [];
  const sdkCalls = [];
  const stringsLikeComments = [];
  const fieldCalls = [];
  const strayEmpty = [];
  const expiresKeys = [];
  const bindings = new Map(); // local name -> {module, member|null}
  const clients = new Map(); // local name -> {sdk: "v2"|"v3", module, client}
  const functions = new Map(); // local function name -> node (top level)
  const exportsOf = new Map(); // owner (top-level function or "export:<name>") -> export names
  const callsOf = new Map(); // owner -> names of top-level functions it calls

  const bind = (id, module, member = null) => {
    if (id && id.type === "Identifier") bindings.set(id.name, { module, member });
  };
  const bindPattern = (pattern, module) => {
    if (!pattern) return;
    if (pattern.type === "Identifier") bind(pattern, module);
    if (pattern.type === "ObjectPattern") {
      for (const p of pattern.properties) {
        if (p.type === "Property") bind(p.value.type === "AssignmentPattern" ? p.value.left : p.value, module, p.computed ? null : (p.key.name ?? p.key.value));
      }
    }
  };
  // `AWS.DynamoDB.DocumentClient` -> {module, names: ["DynamoDB", "DocumentClient"]} when AWS is bound.
  const qualified = (node) => {
    const names = [];
    let callee = node;
    while (callee.type === "MemberExpression" && !callee.computed) {
      names.unshift(callee.property.name);
      callee = callee.object;
    }
    if (callee.type !== "Identifier" || !bindings.has(callee.name)) return null;
    const b = bindings.get(callee.name);
    return { module: b.module, names: b.member ? [b.member, ...names] : names };
  };
  // What `new X(...)` / `X.from(...)` constructs, when it is an AWS SDK client.
  const clientOf = (node) => {
    if (node.type === "NewExpression") {
      const q = qualified(node.callee);
      if (!q) return null;
      if (isV2(q.module)) {
        const fromPath = q.module.startsWith("aws-sdk/clients/") ? [q.module.slice("aws-sdk/clients/".length)] : [];
        return { sdk: "v2", module: q.module, client: (q.names.length ? q.names : fromPath).join(".") };
      }
      if (isV3(q.module) && q.names.length === 1 && !q.names[0].endsWith("Command")) return { sdk: "v3", module: q.module, client: q.names[0] };
    }
    if (node.type === "CallExpression" && node.callee.type === "MemberExpression" && !node.callee.computed && node.callee.property.name === "from") {
      const q = qualified(node.callee.object); // DynamoDBDocument.from(new DynamoDB())
      if (q && isV3(q.module) && q.names.length === 1) return { sdk: "v3", module: q.module, client: q.names[0] };
    }
    return null;
  };

  const addHandler = (name, fn, line) => {
    const target = isFunction(fn) ? fn : fn && fn.type === "Identifier" && functions.has(fn.name) ? functions.get(fn.name) : null;
    if (!target) return;
    const owner = isFunction(fn) ? `export:${name}` : fn.name;
    if (!exportsOf.has(owner)) exportsOf.set(owner, new Set());
    exportsOf.get(owner).add(name);
    const contextName = target.params[1] && target.params[1].type === "Identifier" ? target.params[1].name : null;
    const contextCalls = [];
    const asyncWork = [];
    walk.simple(target.body, {
      CallExpression(node) {
        const callee = node.callee;
        if (callee.type === "MemberExpression" && !callee.computed && callee.object.type === "Identifier") {
          const method = callee.property.name;
          if (contextName && callee.object.name === contextName) contextCalls.push({ method, line: node.loc.start.line });
        }
        if (callee.type === "Identifier" && TIMERS.has(callee.name)) asyncWork.push({ kind: `${callee.name}()`, line: node.loc.start.line });
        else if (callee.type === "MemberExpression" && !callee.computed && ["then", "catch", "finally", "on", "once", "pipe"].includes(callee.property.name)) asyncWork.push({ kind: `.${callee.property.name}()`, line: node.loc.start.line });
        else if (node.arguments.length && isFunction(node.arguments[node.arguments.length - 1]) && node.arguments[node.arguments.length - 1].params.length >= 1 && !(callee.type === "MemberExpression" && !callee.computed && ["map", "forEach", "filter", "reduce", "some", "every", "find", "findIndex", "sort", "flatMap", "replace"].includes(callee.property.name))) {
          const name = callee.type === "Identifier" ? callee.name : callee.type === "MemberExpression" && !callee.computed ? `${callee.object.type === "Identifier" ? callee.object.name + "." : ""}${callee.property.name}` : "a call";
          asyncWork.push({ kind: `${name}(..., callback)`, line: node.loc.start.line });
        }
      },
    });
    handlers.push({
      name,
      line,
      params: target.params.length,
      async: !!target.async,
      generator: !!target.generator,
      returnsValue: returnsValue(target),
      contextName,
      contextCalls,
      asyncWork,
    });
  };

  // Top-level functions, and each top-level statement's owner (for the call graph).
  const ownerOf = (statement) => {
    if (statement.type === "FunctionDeclaration" && statement.id) return statement.id.name;
    if (statement.type === "ExportNamedDeclaration" && statement.declaration) return ownerOf(statement.declaration);
    if (statement.type === "VariableDeclaration" && statement.declarations.length === 1 && isFunction(statement.declarations[0].init) && statement.declarations[0].id.type === "Identifier") return statement.declarations[0].id.name;
    if (statement.type === "ExpressionStatement" && statement.expression.type === "AssignmentExpression") {
      const target = exportTarget(statement.expression.left);
      if (target && target !== "*" && isFunction(statement.expression.right)) return `export:${target}`;
    }
    return null;
  };
  for (const statement of ast.body) {
    if (statement.type === "FunctionDeclaration" && statement.id) functions.set(statement.id.name, statement);
    const declaration = statement.type === "ExportNamedDeclaration" ? statement.declaration : statement;
    if (declaration && declaration.type === "VariableDeclaration") {
      for (const d of declaration.declarations) if (d.id.type === "Identifier" && isFunction(d.init)) functions.set(d.id.name, d.init);
    }
    if (declaration && declaration.type === "FunctionDeclaration" && declaration.id) functions.set(declaration.id.name, declaration);
    if (statement.type === "EmptyStatement") strayEmpty.push({ line: statement.loc.start.line, start: statement.start, end: statement.end });
  }
  // An owner per node: the top-level function (or exported function) it is written in.
  // `module.exports = { a() {...}, b: () => ... }` owns each property's function.
  const ownerAt = (ancestors) => {
    const statement = ancestors[1];
    if (!statement) return null;
    const own = ownerOf(statement);
    if (own) return own;
    if (statement.type === "ExpressionStatement" && statement.expression.type === "AssignmentExpression" && exportTarget(statement.expression.left) === "*" && statement.expression.right.type === "ObjectExpression") {
      const property = ancestors.find((a) => a.type === "Property" && statement.expression.right.properties.includes(a));
      if (property && isFunction(property.value) && !property.computed) return `export:${property.key.name ?? property.key.value}`;
    }
    if (statement.type === "ExportDefaultDeclaration" && isFunction(statement.declaration)) return "export:default";
    return null;
  };

  // Pass 1: imports and bindings (modules, clients), in source order.
  walk.fullAncestor(ast, (node, _state, ancestors) => {
    const line = node.loc.start.line;
    if (node.type === "ImportDeclaration") {
      imports.push({ specifier: node.source.value, line });
      for (const s of node.specifiers) {
        if (s.type === "ImportSpecifier") bind(s.local, node.source.value, s.imported.name ?? s.imported.value);
        else bind(s.local, node.source.value);
      }
    } else if (node.type === "CallExpression" && isRequire(node)) {
      const spec = literal(node.arguments[0]);
      if (spec !== null) {
        imports.push({ specifier: spec, line });
        const parent = ancestors[ancestors.length - 2];
        if (parent && parent.type === "VariableDeclarator" && parent.init === node) bindPattern(parent.id, spec);
        if (parent && parent.type === "MemberExpression" && parent.object === node && !parent.computed) {
          const grand = ancestors[ancestors.length - 3];
          memberUses.push({ module: spec, name: parent.property.name, line });
          if (grand && grand.type === "VariableDeclarator" && grand.init === parent) bind(grand.id, spec, parent.property.name);
        }
      }
    } else if (node.type === "VariableDeclarator" && node.id.type === "Identifier" && node.init) {
      const client = clientOf(node.init);
      if (client) clients.set(node.id.name, client);
    } else if (node.type === "AssignmentExpression" && node.left.type === "Identifier") {
      const client = clientOf(node.right);
      if (client) clients.set(node.left.name, client);
    }
  });

  const sdkCall = (call, ancestors) => sdkCalls.push({ ...call, line: call.line, owner: ownerAt(ancestors) });

  // Pass 2: uses.
  walk.fullAncestor(ast, (node, _state, ancestors) => {
    const line = node.loc.start.line;
    const owner = ownerAt(ancestors);
    switch (node.type) {
      case "ExportNamedDeclaration":
      case "ExportAllDeclaration":
        if (node.source) imports.push({ specifier: node.source.value, line });
        if (node.type === "ExportNamedDeclaration" && node.declaration) {
          const decl = node.declaration;
          if (decl.type === "FunctionDeclaration") addHandler(decl.id.name, decl.id, line);
          if (decl.type === "VariableDeclaration") for (const d of decl.declarations) if (d.id.type === "Identifier") addHandler(d.id.name, isFunction(d.init) ? d.id : d.init, line);
        }
        if (node.type === "ExportNamedDeclaration" && !node.source) {
          for (const s of node.specifiers) addHandler(s.exported.name ?? s.exported.value, s.local, line);
        }
        break;
      case "ExportDefaultDeclaration":
        addHandler("default", node.declaration, line);
        break;
      case "ImportExpression": {
        const spec = literal(node.source);
        if (spec !== null) imports.push({ specifier: spec, line });
        break;
      }
      case "Property":
        if (!node.computed && (node.key.name ?? node.key.value) === "Expires") expiresKeys.push({ line, owner });
        break;
      case "Identifier":
        // a top-level function referenced (called, or passed as a callback) from another
        if (owner && owner !== node.name && functions.has(node.name)) {
          if (!callsOf.has(owner)) callsOf.set(owner, new Set());
          callsOf.get(owner).add(node.name);
        }
        break;
      case "Literal":
        if (typeof node.value === "string" && node.value.trim().startsWith("/*")) stringsLikeComments.push({ line, text: node.value, owner });
        break;
      case "CallExpression": {
        const callee = node.callee;
        if (owner && callee.type === "Identifier" && functions.has(callee.name)) {
          if (!callsOf.has(owner)) callsOf.set(owner, new Set());
          callsOf.get(owner).add(callee.name);
        }
        if (owner && callee.type === "MemberExpression" && !callee.computed && exportTarget(callee)) {
          if (!callsOf.has(owner)) callsOf.set(owner, new Set());
          callsOf.get(owner).add(`export:${exportTarget(callee)}`);
        }
        if (callee.type === "Identifier" && bindings.has(callee.name)) {
          const b = bindings.get(callee.name);
          if (b.member) memberUses.push({ module: b.module, name: b.member, line });
        }
        if (callee.type === "MemberExpression" && !callee.computed) {
          const method = callee.property.name;
          const object = callee.object;
          // JSON.parse(x.Body): a field read as a string
          if (object.type === "Identifier" && object.name === "JSON" && method === "parse" && node.arguments[0]) {
            const arg = node.arguments[0];
            const field = arg.type === "MemberExpression" && !arg.computed ? arg.property.name : arg.type === "Identifier" ? arg.name : null;
            if (field) fieldCalls.push({ field, method: "JSON.parse", line, owner });
          }
          const field = object.type === "MemberExpression" && !object.computed ? object.property.name : object.type === "Identifier" ? object.name : null;
          if (field && /^[A-Z]/.test(field)) fieldCalls.push({ field, method, line, owner });
          // client.method(...): v3 send / aggregated client, v2 client
          let client = object.type === "Identifier" ? clients.get(object.name) : null;
          if (!client) client = clientOf(object); // new AWS.S3().getObject(...)
          if (client) {
            if (method === "send" && node.arguments[0] && node.arguments[0].type === "NewExpression") {
              // counted by the NewExpression below
            } else if ((method === "getSignedUrl" || method === "getSignedUrlPromise") && client.sdk === "v2") {
              const operation = literal(node.arguments[0]);
              sdkCall({ sdk: "v2", module: client.module, client: client.client, operation: operation ?? method, signed: true, line }, ancestors);
            } else if (!["send", "destroy", "middlewareStack", "config"].includes(method)) {
              sdkCall({ sdk: client.sdk, module: client.module, client: client.client, operation: method, line }, ancestors);
            }
          }
        }
        break;
      }
      case "MemberExpression": {
        const prop = node.computed ? literal(node.property) : node.property.name;
        if (prop === "callbackWaitsForEmptyEventLoop") callbackWaits.push(line);
        if (node.object.type === "Identifier" && bindings.has(node.object.name) && prop) {
          const b = bindings.get(node.object.name);
          if (!b.member) memberUses.push({ module: b.module, name: prop, line });
          if (!b.member && isV2(b.module)) {
            // AWS.config.update(...), AWS.DynamoDB.Converter.unmarshall(...): the longest qualified name
            const names = [prop];
            let up = ancestors.length - 2;
            let current = node;
            while (ancestors[up] && ancestors[up].type === "MemberExpression" && ancestors[up].object === current && !ancestors[up].computed) {
              names.push(ancestors[up].property.name);
              current = ancestors[up];
              up -= 1;
            }
            const isNew = ancestors[up] && ancestors[up].type === "NewExpression" && ancestors[up].callee === current;
            if (!isNew) v2Members.push({ name: names.join("."), line, owner });
          }
        }
        break;
      }
      case "NewExpression": {
        const client = clientOf(node);
        if (client && client.sdk === "v2") awsClients.push({ line, client: client.client, owner });
        const q = qualified(node.callee);
        if (q && isV3(q.module) && q.names.length === 1 && q.names[0].endsWith("Command")) {
          const parent = ancestors[ancestors.length - 2];
          const sender =
            parent && parent.type === "CallExpression" && parent.arguments[0] === node && parent.callee.type === "MemberExpression" && parent.callee.object.type === "Identifier"
              ? clients.get(parent.callee.object.name)
              : null;
          sdkCall({ sdk: "v3", module: q.module, client: sender ? sender.client : "", operation: q.names[0], line }, ancestors);
        }
        break;
      }
      case "AssignmentExpression": {
        const target = exportTarget(node.left);
        if (target === "*" && node.right.type === "ObjectExpression") {
          for (const p of node.right.properties) {
            if (p.type === "Property" && !p.computed) addHandler(p.key.name ?? p.key.value, p.value, line);
          }
        } else if (target === "*") {
          addHandler("*", node.right, line);
        } else if (target) {
          addHandler(target, node.right, line);
        }
        break;
      }
    }
  });
  // Which exports reach each owner (through calls between top-level functions).
  const reach = (start) => {
    const seen = new Set([start]);
    const todo = [start];
    while (todo.length) for (const next of callsOf.get(todo.pop()) || []) if (!seen.has(next)) seen.add(next), todo.push(next);
    return seen;
  };
  const reachedBy = new Map();
  for (const [owner, names] of exportsOf) for (const reached of reach(owner)) for (const name of names) {
    if (!reachedBy.has(reached)) reachedBy.set(reached, new Set());
    reachedBy.get(reached).add(name);
  }
  // Each fact written inside a function: the exports that reach it (null: module level).
  for (const fact of [...sdkCalls, ...fieldCalls, ...stringsLikeComments, ...expiresKeys, ...v2Members, ...awsClients]) {
    fact.exports = fact.owner === null ? null : [...(reachedBy.get(fact.owner) || [])].sort();
    delete fact.owner;
  }
  return { path: file, sourceType, imports, handlers, memberUses, callbackWaits, awsClients, v2Members, sdkCalls, comments, stringsLikeComments, fieldCalls, strayEmpty, expiresKeys };
}

function manifest(file, major) {
  const text = readFileSync(file, "utf8");
  let json;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { path: file, manifest: true, syntaxError: { line: 1, message: error.message } };
  }
  const lineOf = (needle) => {
    const index = text.split("\n").findIndex((l) => l.includes(needle));
    return index + 1;
  };
  const dependencies = [];
  for (const field of ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"]) {
    for (const name of Object.keys(json[field] || {})) {
      dependencies.push({ field, name, range: json[field][name], line: lineOf(`"${name}"`) });
    }
  }
  const range = json.engines && json.engines.node;
  let engines = null;
  if (typeof range === "string") {
    const valid = semver.validRange(range) !== null;
    engines = {
      range,
      line: lineOf('"node"'),
      valid,
      admits: valid && major !== null ? semver.intersects(range, `${major}.x`) : null,
    };
  }
  return { path: file, manifest: true, type: json.type ?? null, dependencies, engines };
}

function lockfile(file, major) {
  // Every installed package's engines.node, judged against Node `major`.
  const text = readFileSync(file, "utf8");
  let json;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { path: file, lockfile: true, syntaxError: { line: 1, message: error.message } };
  }
  const lines = text.split("\n");
  const engines = [];
  for (const [key, entry] of Object.entries(json.packages || {})) {
    const range = entry && entry.engines && (Array.isArray(entry.engines) ? null : entry.engines.node);
    if (!key || typeof range !== "string" || entry.dev) continue;
    const valid = semver.validRange(range) !== null;
    engines.push({
      name: key.split("node_modules/").pop(),
      range,
      line: lines.findIndex((l) => l.includes(`"${key}"`)) + 1,
      admits: valid && major !== null ? semver.intersects(range, `${major}.x`) : null,
    });
  }
  return { path: file, lockfile: true, engines };
}

let args = process.argv.slice(2);
let major = null;
if (args[0] === "--node-major") {
  major = Number(args[1]);
  args = args.slice(2);
}
const files = args.map((f) =>
  f.endsWith("package-lock.json") ? lockfile(f, major) : f.endsWith("package.json") ? manifest(f, major) : extract(f),
);
process.stdout.write(JSON.stringify({ node: process.versions.node, builtins: builtinModules, files }));
