import { spawn } from 'node:child_process';

/** Why the system browser cannot be opened here (no display, an SSH session), or undefined when it can be tried. */
export function cannotOpenBrowser(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string | undefined {
  if (env.SSH_CONNECTION || env.SSH_TTY || env.SSH_CLIENT) return 'this is an SSH session';
  if (platform !== 'win32' && platform !== 'darwin' && !env.DISPLAY && !env.WAYLAND_DISPLAY) return 'there is no display';
  return undefined;
}

/** Opens `url` in the system browser, detached; errors (no xdg-open …) are ignored: the URL is printed too. */
export function openBrowser(url: string, platform: NodeJS.Platform = process.platform): void {
  const [command, args] =
    platform === 'darwin'
      ? ['open', [url]]
      : platform === 'win32'
        ? // rundll32 takes the URL as one argument: no cmd.exe, so `&` in the query is not a command separator.
          ['rundll32', ['url.dll,FileProtocolHandler', url]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(command, args as string[], { detached: true, stdio: 'ignore' });
    child.on('error', () => {});
    child.unref();
  } catch {
    // The URL is printed; the user opens it.
  }
}
