// @ts-check
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "dist/",
      "coverage/",
      "node_modules/",
      "charts/",
      ".cluster/",
      "src/xds/generated/",
      "mesh/xds-client/codec/table.generated.ts",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  ...tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      // @kubernetes/client-node models are declared as classes but are plain data on the wire;
      // object literals and spreads of them are the library's intended use.
      "@typescript-eslint/no-unsafe-class-instance-assignment": "off",
      "@typescript-eslint/no-misused-spread": "off",
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      // `const { dropped, ...rest } = o` is how a field is left out of a copy.
      "@typescript-eslint/no-unused-vars": ["error", { ignoreRestSiblings: true }],
      "no-restricted-syntax": [
        "error",
        { selector: "ExportDefaultDeclaration", message: "Use named exports." },
      ],
      "no-restricted-properties": [
        "error",
        { object: "describe", property: "only", message: "Do not commit .only" },
        { object: "it", property: "only", message: "Do not commit .only" },
        { object: "context", property: "only", message: "Do not commit .only" },
      ],
    },
  },
  {
    // node:assert's assertion signatures narrow values mid-test, which makes the optional
    // chains tests use to stay readable look "unnecessary"; they are not worth rewriting.
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-unnecessary-condition": "off" },
  },
  {
    files: ["eslint.config.js"],
    ...tseslint.configs.disableTypeChecked,
    rules: { ...tseslint.configs.disableTypeChecked.rules, "no-restricted-syntax": "off" },
  },
  prettier,
);
