// Type-aware lint: typescript-eslint's strict type-checked set over the project's TypeScript, with the
// exceptions below, each for a stated reason. Formatting is Biome's (biome.json); this file only judges code.
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/**",
      ".sst/**",
      "tmp/**",
      "vendor/**",
      "test/fixtures/**",
      "**/*.js",
      "**/*.mjs",
      "**/*.d.mts",
      // Type-checked against SST's generated platform types by tsconfig.sst.json (npm run typecheck).
      "sst.config.ts",
    ],
  },
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A CLI whose signal handling is all promises: an unawaited one is a lost error or an early exit.
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      // Counts, durations and flags are printed in messages all the time; objects and nullish values are not.
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
      // Without noUncheckedIndexedAccess, a lookup (`rows[0]`, `map.get(k)`) is typed as present: `!` is how the
      // code states that it checked, and the defensive checks this rule calls unnecessary are the ones to keep.
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-unnecessary-condition": "off",
      // `() => void something()` and `(x) => console.log(x)` are the idiom for callbacks that return nothing.
      "@typescript-eslint/no-confusing-void-expression": "off",
      // `const { password: _password, ...rest } = x` is how a field is left out of a copy.
      "@typescript-eslint/no-unused-vars": [
        "error",
        { varsIgnorePattern: "^_", argsIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Tests parse JSON printed by the CLI and read fields off it: `any` there is the shape under test.
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
    },
  },
);
