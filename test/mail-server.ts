import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

// A real SMTP server on 127.0.0.1, port 0, for the mail tests: it parses what arrives with
// mailparser, and can refuse a message (4xx: try later; 5xx: never) as a real server would.

export type Refusal = { code: number; message: string };
/** One message handed over: when, and what the server answered (undefined: accepted). */
export type Attempt = { at: number; subject: string; refused?: Refusal };

export class TestMailServer {
  readonly received: ParsedMail[] = [];
  readonly attempts: Attempt[] = [];
  /** Decides each message once it has arrived whole; undefined accepts it. */
  refuseData: (mail: ParsedMail) => Refusal | undefined = () => undefined;
  /** Decides each recipient; undefined accepts it. */
  refuseRecipient: (address: string) => Refusal | undefined = () => undefined;
  /** Delay before answering a message (widens the window in which two senders could race). */
  answerDelayMs = 0;

  private constructor(private readonly server: SMTPServer, readonly url: string) {}

  static async start(): Promise<TestMailServer> {
    let self: TestMailServer | undefined;
    const server = new SMTPServer({
      authOptional: true,
      // Plain SMTP on loopback: nodemailer would otherwise upgrade to TLS with a certificate it cannot verify.
      disabledCommands: ['STARTTLS'],
      logger: false,
      onRcptTo(address, _session: SMTPServerSession, callback) {
        const refusal = self!.refuseRecipient(address.address);
        callback(refusal ? smtpError(refusal) : undefined);
      },
      onData(stream, _session, callback) {
        simpleParser(stream).then(
          async (mail) => {
            const refusal = self!.refuseData(mail);
            self!.attempts.push({ at: Date.now(), subject: mail.subject ?? '', refused: refusal });
            if (self!.answerDelayMs) await new Promise((r) => setTimeout(r, self!.answerDelayMs));
            if (refusal) return callback(smtpError(refusal));
            self!.received.push(mail);
            callback();
          },
          (error: Error) => callback(error),
        );
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = (server as unknown as { server: { address(): AddressInfo } }).server.address();
    self = new TestMailServer(server, `smtp://127.0.0.1:${port}`);
    return self;
  }

  /** The messages whose subject is `subject`. */
  withSubject(subject: string): ParsedMail[] {
    return this.received.filter((mail) => mail.subject === subject);
  }

  /** Polls until `count` messages with this subject arrived; returns them. */
  async waitFor(subject: string, count = 1, timeoutMs = 20_000): Promise<ParsedMail[]> {
    await until(() => this.withSubject(subject).length >= count, `${count} email(s) "${subject}"`, timeoutMs);
    return this.withSubject(subject);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function smtpError(refusal: Refusal): Error {
  return Object.assign(new Error(refusal.message), { responseCode: refusal.code });
}

/** Polls `condition` every 20 ms until it holds; fails after `timeoutMs`. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A header of a parsed email as it arrived (unfolded), without its name. */
export function header(mail: ParsedMail, name: string): string | undefined {
  const line = mail.headerLines.find((entry) => entry.key === name.toLowerCase())?.line;
  return line?.slice(line.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ').trim();
}
