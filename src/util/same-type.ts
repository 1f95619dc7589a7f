// A compile-time check that two types are one: where a schema must describe a type that a lower
// layer owns without a schema (it parses nothing), `const ok: SameType<A, B> = true` stops the
// build when the two part ways.
export type SameType<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
