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

/** The report text. */
export function apiReport(): string {
  const files = Object.values(entries).map((file) => `${root}${file}`);
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    allowImportingTsExtensions: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  const flags = ts.TypeFormatFlags.NoTruncation;
  const lines: string[] = [];
  for (const [entry, file] of Object.entries(entries)) {
    const source = program.getSourceFile(`${root}${file}`);
    const module = source && checker.getSymbolAtLocation(source);
    if (!module) throw new Error(`no module for ${file}`);
    lines.push(`# ${entry}`);
    for (const exported of checker.getExportsOfModule(module).sort((a, b) => a.name.localeCompare(b.name))) {
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
