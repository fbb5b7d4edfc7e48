// Writes docs/diagrams/<machine>.md from the shipped machines: `npm run docs:diagrams`.
// test/docs/diagrams.test.ts fails when a committed diagram differs from the machine.
import { writeFileSync, mkdirSync } from 'node:fs';
import { diagramDocuments } from './diagram-documents.js';

mkdirSync('docs/diagrams', { recursive: true });
for (const { file, text } of diagramDocuments()) {
  writeFileSync(file, text);
  console.log(`wrote ${file}`);
}
