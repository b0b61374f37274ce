export function freePort(): Promise<number>;

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
  restart(downMs?: number): Promise<void>;
}

export function startRedis(dir: string): Promise<RedisServer>;
