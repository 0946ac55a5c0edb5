// A plain TCP client for the capture test: `echo HOST PORT HEX` sends the bytes, half-closes and
// prints what came back (hex); `greet HOST PORT` sends nothing and prints what the server says.
import net from "node:net";

const [mode, host, port, hex] = process.argv.slice(2);
const s = net.connect({ host: host ?? "", port: Number(port), allowHalfOpen: true });
const got: Buffer[] = [];
s.on("data", (d: Buffer) => got.push(d));
s.on("error", (err) => {
  process.stdout.write(`error ${err.message}\n`);
  process.exit(1);
});
s.on("connect", () => {
  if (mode === "echo") s.end(Buffer.from(hex ?? "", "hex"));
});
s.on("end", () => {
  process.stdout.write(
    `${mode === "echo" ? Buffer.concat(got).toString("hex") : Buffer.concat(got).toString()}\n`,
  );
  s.end();
});
