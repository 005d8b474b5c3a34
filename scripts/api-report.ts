/**
 * The public API report (api/tollgate.api.txt): every name each package entry exports, with its kind and its
 * declared type, from the sources. `npm run api:report` rewrites it; test/package/api-report.test.ts fails when the
 * sources no longer match it, so a change to the public API shows in review as a change to this file.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The package entries (package.json `exports`) and their source files. */
export const entries: Readonly<Record<string, string>> = {
  tollgate: 'src/index.ts',
  'tollgate/workers': 'workers/index.ts',
  'tollgate/testing': 'src/testing/index.ts',
  'tollgate/http': 'src/http/index.ts',
};

const root = fileURLToPath(new URL('../', import.meta.url));

function program(): ts.Program {
  const files = Object.values(entries).map((file) => `${root}${file}`);
  return ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    allowImportingTsExtensions: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
  });
}

/** Each package entry's exported symbols (aliases resolved), sorted by name. */
function exportsOf(checker: ts.TypeChecker, built: ts.Program): Array<[entry: string, exported: ts.Symbol[]]> {
  return Object.entries(entries).map(([entry, file]) => {
    const source = built.getSourceFile(`${root}${file}`);
    const module = source && checker.getSymbolAtLocation(source);
    if (!module) throw new Error(`no module for ${file}`);
    return [entry, checker.getExportsOfModule(module).sort((a, b) => a.name.localeCompare(b.name))];
  });
}

/** `entry name` of every export whose declaration has no TSDoc comment (the package test wants none). */
export function undocumentedExports(): string[] {
  const built = program();
  const checker = built.getTypeChecker();
  return exportsOf(checker, built).flatMap(([entry, exported]) =>
    exported
      .filter((e) => (e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e).getDocumentationComment(checker).length === 0)
      .map((e) => `${entry} ${e.name}`),
  );
}

/** The report text. */
export function apiReport(): string {
  const built = program();
  const checker = built.getTypeChecker();
  const flags = ts.TypeFormatFlags.NoTruncation;
  const lines: string[] = [];
  for (const [entry, exports] of exportsOf(checker, built)) {
    lines.push(`# ${entry}`);
    for (const exported of exports) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const declaration = symbol.declarations?.[0];
      if (!declaration) continue;
      const kind = ts.SyntaxKind[declaration.kind].replace(/Declaration$/, '');
      const text =
        symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias)
          ? declaration.getText().replace(/\/\*\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '').replace(/\s+/g, ' ')
          : checker.typeToString(checker.getTypeOfSymbolAtLocation(symbol, declaration), undefined, flags);
      lines.push(`${exported.name} (${kind}): ${text}`);
    }
    lines.push('');
  }
  return lines.join('\n').replaceAll(root, '');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(`${root}api/tollgate.api.txt`, apiReport());
  console.log('wrote api/tollgate.api.txt');
}
