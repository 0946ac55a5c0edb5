// Servers of the capture test, run in a namespace of their own: `outside` (Service backends
// over HTTP/1.1 and h2c, a TCP echo, a server-first greeter) or `app` (the pod's app: its mesh
// port and a port not declared to the proxy). Prints "ready" once all listen.
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";

const [role, address] = [process.argv[2], process.argv[3] ?? "0.0.0.0"];
const listen = (s: net.Server, port: number): Promise<void> =>
  new Promise((resolve) => s.listen(port, address, resolve));
const answer =
  (name: string) =>
  (
    req: http.IncomingMessage | http2.Http2ServerRequest,
    res: http.ServerResponse | http2.Http2ServerResponse,
  ) => {
    req.resume();
    const who = req.socket.remoteAddress ?? "";
    res.setHeader("x-served-by", name);
    res.setHeader("x-peer", who);
    res.end(`${name} ${req.httpVersion} ${who}`);
  };

if (role === "outside") {
  await listen(http.createServer(answer("reviews")), 9898);
  await listen(http2.createServer(answer("greeter")), 50051);
  await listen(
    net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s)),
    7000,
  );
  await listen(
    net.createServer((s) => s.end("220 greeter ready\r\n")),
    7001,
  );
} else {
  await listen(http.createServer(answer("app")), 8080);
  await listen(http.createServer(answer("undeclared")), 8081);
}
process.stdout.write("ready\n");
