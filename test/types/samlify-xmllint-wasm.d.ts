/** Types for `@authenio/samlify-xmllint-wasm` (it ships none): samlify's recommended XML schema validator for SAML
 *  messages, xmllint compiled to WebAssembly. Resolves when the XML is valid; rejects otherwise. */
declare module "@authenio/samlify-xmllint-wasm" {
  export function validate(xml: string): Promise<true>;
}
