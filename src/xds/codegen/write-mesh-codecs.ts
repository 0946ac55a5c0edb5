// `npm run gen:mesh-codecs`: rewrites the proxy's codec table from the Envoy protos.
import { writeFileSync } from "node:fs";
import { renderCodecTable, TABLE_PATH } from "./mesh-codec-table.js";

writeFileSync(TABLE_PATH, renderCodecTable());
