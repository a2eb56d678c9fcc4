/**
 * An authoritative DNS server on loopback (UDP, the `dns2` package) answering
 * TXT queries from a table the test fills: what an organization publishes to
 * prove it owns an email domain. Point the app at it with
 * TOLLGATE_DNS_SERVERS=`server.address`. Unknown names answer NXDOMAIN.
 */
import dns2 from "dns2";

/** RFC 1035 §4.1.1 response code "name error" (dns2 3.0 has `Packet.RCODE` at run time, not in its types). */
const NXDOMAIN = 3;

export interface TestDns {
  /** `127.0.0.1:<port>`, for TOLLGATE_DNS_SERVERS. */
  address: string;
  /** Publishes (replaces) the TXT values at `name`. */
  setTxt(name: string, values: string[]): void;
  close(): Promise<void>;
}

export async function startTestDns(): Promise<TestDns> {
  const { Packet } = dns2;
  const records = new Map<string, string[]>();
  const server = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request);
      const [question] = request.questions;
      const values = question ? records.get(question.name.toLowerCase()) : undefined;
      if (!question || !values) {
        response.header.rcode = NXDOMAIN;
      } else if (question.type === Packet.TYPE.TXT) {
        for (const data of values) {
          // dns2's Resource type names its encoder; a plain record is what its packet writer takes.
          response.answers.push({
            name: question.name,
            type: Packet.TYPE.TXT,
            class: Packet.CLASS.IN,
            ttl: 1,
            data,
          } as never);
        }
      }
      send(response);
    },
  });
  const listening = new Promise<void>((resolve) => server.once("listening", () => resolve()));
  await server.listen({ udp: { port: 0, address: "127.0.0.1" } });
  await listening;
  const port = (server.addresses() as { udp: { port: number } }).udp.port;
  return {
    address: `127.0.0.1:${port}`,
    setTxt: (name, values) => records.set(name.toLowerCase(), values),
    close: () => server.close(),
  };
}
