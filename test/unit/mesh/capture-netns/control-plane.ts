// The capture test's control plane: the controller's real xDS server, listening in the
// "outside" namespace, serving one Service (podinfo.demo:9898) whose endpoints are the outside
// namespace's HTTP server. Prints "ready" once it listens.
import { systemClock } from "../../../../src/common/clock.js";
import { buildSnapshot } from "../../../../src/xds/snapshot.js";
import { XdsServer } from "../../../../src/xds/server/xds-server.js";
import { translate } from "../../../../src/xds/translate/translate.js";
import { clusterState, codecs, silentLog } from "../xds-client-fixtures.js";

const [address = "", port = "9898"] = process.argv.slice(2);
const state = clusterState({ canaryWeight: 0 });
const server = new XdsServer({ log: silentLog, clock: systemClock });
server.setSnapshot(
  buildSnapshot(
    1,
    translate({
      ...state,
      endpoints: state.endpoints.map((e) => ({
        ...e,
        endpoints: [{ address, ports: { http: Number(port) }, ready: true, zone: "z1" }],
      })),
    }),
    codecs,
  ),
);
await server.listen(15010, address);
process.stdout.write("ready\n");
