/** The part of seek-bzip (pure-JS bzip2 decoder, no bundled types) the RPM format uses. */
declare module 'seek-bzip' {
  interface OutputStream {
    writeByte(byte: number): void;
  }
  const Bunzip: {
    decode(input: Buffer, output: OutputStream, multistream?: boolean): void;
  };
  export default Bunzip;
}
