import { authorizationCodeMachine } from '../machines/authorization-code.js';
import { refreshTokenMachine } from '../machines/refresh-token.js';
import { tokenSessionMachine } from '../machines/token-session.js';
import { clientCredentialsMachine } from '../machines/client-credentials.js';
import { clientAssertionMachine } from '../machines/client-assertion.js';
import { deviceAuthorizationMachine } from '../machines/device-authorization.js';
import type { AnyStateMachine } from 'xstate';
import { machineToMermaid } from './mermaid.js';

const machines: Array<{ name: string; title: string; machine: AnyStateMachine }> = [
  { name: 'authorization-code', title: 'authorizationCodeMachine', machine: authorizationCodeMachine },
  { name: 'refresh-token', title: 'refreshTokenMachine', machine: refreshTokenMachine },
  { name: 'token-session', title: 'tokenSessionMachine', machine: tokenSessionMachine },
  { name: 'client-credentials', title: 'clientCredentialsMachine', machine: clientCredentialsMachine },
  { name: 'client-assertion', title: 'clientAssertionMachine', machine: clientAssertionMachine },
  { name: 'device-authorization', title: 'deviceAuthorizationMachine', machine: deviceAuthorizationMachine },
];

/** Every machine's diagram page, as it should be committed. */
export function diagramDocuments(): Array<{ file: string; text: string }> {
  return machines.map(({ name, title, machine }) => ({
    file: `docs/diagrams/${name}.md`,
    text: `# ${title}\n\nGenerated from \`machines/${name}.ts\` by \`npm run docs:diagrams\`; do not edit by hand.\n\n\`\`\`mermaid\n${machineToMermaid(machine)}\n\`\`\`\n`,
  }));
}
