// Reads JavaScript files with a real parser (acorn) and prints, as JSON, the facts the
// Node.js compat check (src/etl_platform/node_compat.py) judges: syntax errors, every
// import/require with its line, the exported handler functions and their parameters,
// uses of Node built-in module members, aws-sdk v2 client constructions and
// context.callbackWaitsForEmptyEventLoop. Policy (what is refused, and the fix) lives
// in Python; this script only reports what the code says.
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

function extract(file) {
  const text = readFileSync(file, "utf8");
  let ast, sourceType;
  try {
    [ast, sourceType] = parse(file, text);
  } catch (error) {
    return { path: file, syntaxError: { line: error.loc?.line ?? 0, message: error.message } };
  }
  const imports = [];
  const handlers = [];
  const memberUses = [];
  const callbackWaits = [];
  const awsClients = [];
  const bindings = new Map(); // local name -> {module, member|null}
  const functions = new Map(); // local function name -> node (top level)

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
  const addHandler = (name, fn, line) => {
    if (isFunction(fn)) handlers.push({ name, params: fn.params.length, line, async: !!fn.async });
    else if (fn && fn.type === "Identifier" && functions.has(fn.name)) {
      const target = functions.get(fn.name);
      handlers.push({ name, params: target.params.length, line, async: !!target.async });
    }
  };

  for (const statement of ast.body) {
    if (statement.type === "FunctionDeclaration" && statement.id) functions.set(statement.id.name, statement);
    if (statement.type === "VariableDeclaration") {
      for (const d of statement.declarations) if (d.id.type === "Identifier" && isFunction(d.init)) functions.set(d.id.name, d.init);
    }
  }

  walk.fullAncestor(ast, (node, _state, ancestors) => {
    const line = node.loc.start.line;
    switch (node.type) {
      case "ImportDeclaration": {
        imports.push({ specifier: node.source.value, line });
        for (const s of node.specifiers) {
          if (s.type === "ImportSpecifier") bind(s.local, node.source.value, s.imported.name ?? s.imported.value);
          else bind(s.local, node.source.value);
        }
        break;
      }
      case "ExportNamedDeclaration":
      case "ExportAllDeclaration":
        if (node.source) imports.push({ specifier: node.source.value, line });
        if (node.type === "ExportNamedDeclaration" && node.declaration) {
          const decl = node.declaration;
          if (decl.type === "FunctionDeclaration") addHandler(decl.id.name, decl, line);
          if (decl.type === "VariableDeclaration") for (const d of decl.declarations) if (d.id.type === "Identifier") addHandler(d.id.name, d.init, line);
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
      case "CallExpression": {
        if (isRequire(node)) {
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
        }
        if (node.callee.type === "Identifier" && bindings.has(node.callee.name)) {
          const b = bindings.get(node.callee.name);
          if (b.member) memberUses.push({ module: b.module, name: b.member, line });
        }
        break;
      }
      case "MemberExpression": {
        const prop = node.computed ? literal(node.property) : node.property.name;
        if (prop === "callbackWaitsForEmptyEventLoop") callbackWaits.push(line);
        if (node.object.type === "Identifier" && bindings.has(node.object.name) && prop) {
          const b = bindings.get(node.object.name);
          if (!b.member) memberUses.push({ module: b.module, name: prop, line });
        }
        break;
      }
      case "NewExpression": {
        // new AWS.S3(...), new AWS.DynamoDB.DocumentClient(...), new S3(...) from aws-sdk
        const names = [];
        let callee = node.callee;
        while (callee.type === "MemberExpression" && !callee.computed) {
          names.unshift(callee.property.name);
          callee = callee.object;
        }
        if (callee.type === "Identifier" && bindings.has(callee.name)) {
          const b = bindings.get(callee.name);
          if (b.module === "aws-sdk" || b.module.startsWith("aws-sdk/")) {
            const client = b.member ? [b.member, ...names] : names;
            const fromPath = b.module.startsWith("aws-sdk/clients/") ? [b.module.slice("aws-sdk/clients/".length)] : [];
            awsClients.push({ line, client: (client.length ? client : fromPath).join(".") });
          }
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
  return { path: file, sourceType, imports, handlers, memberUses, callbackWaits, awsClients };
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
