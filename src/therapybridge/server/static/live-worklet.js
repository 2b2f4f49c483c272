// AudioWorklet processor: hands the microphone's first channel to the page in blocks of about 100 ms.
class PcmCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.size = Math.round(sampleRate / 10);
    this.block = new Float32Array(this.size);
    this.used = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel) {
      let offset = 0;
      while (offset < channel.length) {
        const take = Math.min(channel.length - offset, this.size - this.used);
        this.block.set(channel.subarray(offset, offset + take), this.used);
        this.used += take;
        offset += take;
        if (this.used === this.size) {
          this.port.postMessage(this.block, [this.block.buffer]); // transferred: this.block is empty from here
          this.block = new Float32Array(this.size);
          this.used = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor("pcm-capture", PcmCapture);
