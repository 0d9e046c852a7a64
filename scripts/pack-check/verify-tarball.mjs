// Checks one unpacked tarball (its `package/` directory) is complete, so a broken pack fails loudly:
// README, LICENSE and package.json with its metadata; a dist/*.js and .d.ts for every src/*.ts and nothing in
// dist without its source; every source map's sources shipped; no workspace: range left; every relative import
// in dist pointing at a shipped file.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const root = resolve(process.argv[2] ?? '')
const problems = []
const need = (file) => existsSync(join(root, file)) || problems.push(`missing ${file}`)

for (const file of ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']) need(file)
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
  for (const [name, range] of Object.entries(manifest[field] ?? {})) {
    if (range.startsWith('workspace:')) problems.push(`${field}.${name} is still ${range}`)
  }
}
for (const field of ['license', 'repository', 'homepage', 'bugs', 'engines']) {
  if (manifest[field] === undefined) problems.push(`package.json has no ${field}`)
}
if (manifest.publishConfig?.access !== 'public') problems.push('publishConfig.access is not public')

const walk = (dir) =>
  readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)]
  )
const shipped = (dir) => (existsSync(join(root, dir)) ? walk(dir) : [])

for (const source of shipped('src').filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))) {
  const base = source.replace(/^src/, 'dist').replace(/\.ts$/, '')
  need(`${base}.js`)
  need(`${base}.d.ts`)
}
for (const file of shipped('dist')) {
  const source = file.replace(/^dist/, 'src').replace(/(\.d)?\.(js|ts)(\.map)?$/, '.ts')
  if (!existsSync(join(root, source))) problems.push(`${file} is left from an older build (no ${source})`)
  const text = readFileSync(join(root, file), 'utf8')
  if (file.endsWith('.map')) {
    const map = JSON.parse(text)
    for (const source of map.sources) {
      const target = relative(root, resolve(root, dirname(file), map.sourceRoot ?? '', source))
      if (!existsSync(join(root, target))) problems.push(`${file} points at ${target}, not shipped`)
    }
  } else if (file.endsWith('.js') || file.endsWith('.d.ts')) {
    for (const [, specifier] of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = relative(root, resolve(root, dirname(file), specifier))
      if (!existsSync(join(root, target))) problems.push(`${file} imports ${specifier}, not shipped`)
    }
  }
}

if (problems.length > 0) {
  console.error(`pack-check: the ${manifest.name} tarball is not complete or not clean:\n  ${problems.join('\n  ')}`)
  process.exit(1)
}
console.log(`pack-check: ${manifest.name}@${manifest.version} complete (${shipped('dist').length} files in dist)`)
