// Types for every operation in src/, checked against the served schema: a schema change
// that breaks an operation fails `npm run build` here, one that changes a type fails tsc.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../schema/schema.graphql",
  documents: ["src/**/*.ts", "src/**/*.tsx", "!src/generated/**"],
  generates: {
    "src/generated/graphql.ts": {
      plugins: ["typescript-operations"],
      config: {
        enumsAsTypes: true,
        avoidOptionals: { field: true, inputValue: false, object: true },
        scalars: { DateTime: "string", Date: "string", ID: "string" },
        skipTypename: true,
        useTypeImports: true,
      },
    },
  },
  silent: true,
};
export default config;
