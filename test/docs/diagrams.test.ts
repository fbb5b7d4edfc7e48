import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { diagramDocuments } from '../../scripts/diagram-documents.js';

describe('generated machine diagrams', () => {
  for (const { file, text } of diagramDocuments()) {
    it(`${file} matches the shipped machine (run npm run docs:diagrams after changing a machine)`, () => {
      expect(readFileSync(file, 'utf8')).toBe(text);
    });
  }
});
