// undici's HTTP/1.1 Client, loaded alone: undici's index also loads fetch, WebSocket and the
// caches, 9 MB more RSS than this one file. The path is not one undici promises; the version in
// package-lock.json is the one it was checked against, and every proxy test loads it.
declare module "undici/lib/dispatcher/client.js" {
  import { Client } from "undici";
  export = Client;
}
