import { request } from 'node:http'
import { homedir, userInfo } from 'node:os'
import { dockerHostTarget, dockerHosts, type DockerProbe } from './infra-choice.ts'

/** True when the Docker engine at `host` answers GET /_ping with OK within `timeoutMs`. */
export function pingDockerHost(host: string, timeoutMs = 1_000): Promise<boolean> {
  const target = dockerHostTarget(host)
  if (!target) return Promise.resolve(false)
  return new Promise((resolve) => {
    const req = request({ ...target, path: '/_ping', timeout: timeoutMs }, (res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => (body += chunk.toString()))
      res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'OK'))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(false))
    req.end()
  })
}

/** Pings DOCKER_HOST, or the usual sockets in turn; the first that answers wins. */
export async function probeDocker(env: NodeJS.ProcessEnv = process.env): Promise<DockerProbe> {
  const hosts = dockerHosts(env, homedir(), userInfo().uid)
  for (const host of hosts) if (await pingDockerHost(host)) return { answers: true, where: host }
  return { answers: false, where: hosts.join(', ') }
}
