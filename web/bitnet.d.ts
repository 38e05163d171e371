// Types of bitnet.mjs (docs/wasm.md).

export interface LoadProgress {
    phase: 'copy'|'parse';
    loaded: number; // bytes copied into the WebAssembly heap
    total: number;
}

export interface LoadOptions {
    /** Run inference in a Web Worker / Node worker thread (default true). */
    worker?: boolean;
    /** Name used in error messages (default: the File's name or "model.gguf"). */
    name?: string;
    /** Context window in tokens (default 2048; 0: the model's training context). */
    nCtx?: number;
    /** Most tokens per evaluation that keep all logits (default 512). */
    nBatch?: number;
    /** Refuse models whose heap would exceed this many MiB (default and ceiling 4096). */
    maxMemoryMB?: number;
    onProgress?: (progress: LoadProgress) => void;
    /** Move an ArrayBuffer to the worker instead of copying it (default true). */
    transfer?: boolean;
}

export interface ModelInfo {
    name: string;
    arch: string;
    /** The kernel table in use: "wasm" (SIMD128) or "ref". */
    isa: string;
    nVocab: number;
    nCtx: number;
    nLayer: number;
    nEmbd: number;
    nHead: number;
    nHeadKv: number;
    bos: number;
    eos: number;
    contextBytes: number;
    heapBytes: number;
}

export interface GenerateParams {
    /** Most tokens to generate (default 128). */
    nPredict?: number;
    /** Default 0.8; 0 or less: greedy. */
    temperature?: number;
    topK?: number;
    topP?: number;
    minP?: number;
    repeatPenalty?: number;
    seed?: number;
    ignoreEos?: boolean;
    /** Stops between two tokens; the iterator then throws an AbortError. */
    signal?: AbortSignal;
}

export interface GenerateStats {
    nPrompt: number;
    nGenerated: number;
    promptMs: number;
    generateMs: number;
    stop: 'eog'|'n_predict'|'context_full'|'aborted';
    promptTokensPerSecond: number;
    tokensPerSecond: number;
}

export interface ChatMessage {
    role: 'system'|'user'|'assistant';
    content: string;
}

export interface Model {
    readonly info: ModelInfo;
    /** Timings of the last generation that ended. */
    readonly lastStats: GenerateStats|null;
    tokenize(text: string, options?: {addSpecial?: boolean}): Promise<Int32Array>;
    /**
     * The prompt the model's chat format makes of the messages, ending with an open assistant
     * turn.
     */
    applyChatTemplate(messages: ChatMessage[]): Promise<string>;
    /** Text pieces as they are generated (whole UTF-8 characters). */
    generate(prompt: string, params?: GenerateParams): AsyncIterableIterator<string>;
    /** generate() on the chat template of the messages. */
    chat(messages: ChatMessage[], params?: GenerateParams): AsyncIterableIterator<string>;
    free(): Promise<void>;
}

export function loadModel(source: ArrayBuffer|ArrayBufferView|Blob,
                          options?: LoadOptions): Promise<Model>;
