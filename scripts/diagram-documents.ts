import { authorizationCodeMachine } from '../machines/authorization-code.js';
import { refreshTokenMachine } from '../machines/refresh-token.js';
import { tokenSessionMachine } from '../machines/token-session.js';
import { machineToMermaid } from './mermaid.js';

const machines = [
  { name: 'authorization-code', title: 'authorizationCodeMachine', machine: authorizationCodeMachine },
  { name: 'refresh-token', title: 'refreshTokenMachine', machine: refreshTokenMachine },
  { name: 'token-session', title: 'tokenSessionMachine', machine: tokenSessionMachine },
];

/** Every machine's diagram page, as it should be committed. */
export function diagramDocuments(): Array<{ file: string; text: string }> {
  return machines.map(({ name, title, machine }) => ({
    file: `docs/diagrams/${name}.md`,
    text: `# ${title}\n\nGenerated from \`machines/${name}.ts\` by \`npm run docs:diagrams\`; do not edit by hand.\n\n\`\`\`mermaid\n${machineToMermaid(machine)}\n\`\`\`\n`,
  }));
}
