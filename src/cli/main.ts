import { DEMO_PROVIDERS, runDemo } from './demo.js';

const USAGE = `usage: grantflow demo [--provider <${DEMO_PROVIDERS.join('|')}>]

  demo   runs a full authorization code + PKCE flow against a local authorization server
         (oidc-provider by default; --provider runs it against that provider's fake, over HTTP)`;

function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  if (index !== -1) return args[index + 1];
  const inline = args.find((arg) => arg.startsWith(`${name}=`));
  return inline?.slice(name.length + 1);
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === 'demo') return runDemo(option(rest, '--provider') ?? 'oidc');
  console.log(USAGE);
  return command === undefined || command === '--help' || command === 'help' ? 0 : 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
