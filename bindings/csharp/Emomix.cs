// Emomix.cs — C# binding of the emomix C ABI (native/include/emomix/emomix.h), over P/Invoke.
//
// One file, no unsafe code, C# 6 features only (built and run with mono's mcs 6.8; nothing in it
// is mono-specific). Add it to a project and ship libemomix where the runtime finds native
// libraries: on Linux with mono, LD_LIBRARY_PATH=$(dirname $(emomix config --lib)) is enough
// (DllImport("emomix") resolves to libemomix.so; no dllmap is needed).
//
//     using (var voice = Voice.Load("voices/default"))
//     using (var npc = Character.Create(voice))
//     {
//         npc.SetEmotion("happy", 1.0);
//         using (var line = npc.SayBegin("Ten gold coins, as promised."))
//         {
//             var block = new float[220];
//             int n;
//             while ((n = line.Read(block)) > 0) Play(block, n);
//         }
//     }
//
// The header is the contract; this file mirrors it:
//   * objects: Voice (immutable, share it), Character (emotion state and clock), Line (one line
//     pulled by its reader's thread), Stream (a producer thread of the library's; Read from the
//     engine's audio thread). Each is IDisposable over a SafeHandle: Dispose frees it now, the
//     finaliser frees a forgotten one. Order does not matter (the library counts references).
//   * errors: a failed call throws EmomixException with the emx_result and the library's message.
//   * audio: mono float samples in [-1, 1] at Voice.SampleRate.
//   * threads: as the header says (Character setters from any thread, a Line from one reader).
//   * GenerationConfig mirrors emx_generation_config field for field; Voice.Load checks once that
//     its marshalled size is the struct_size the library's own default initialiser writes.

using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace Emomix
{
    /// <summary>emx_result: 0 ok, 1 end of audio, negative an error.</summary>
    public enum Result
    {
        Ok = 0,
        End = 1,
        NullArgument = -1,
        StructSize = -2,
        InvalidArgument = -3,
        UnknownEmotion = -4,
        UnknownSpeaker = -5,
        BadWeight = -6,
        BadText = -7,
        Busy = -8,
        Stopped = -9,
        VoiceNotFound = -100,
        VoiceInvalid = -101,
        NotBuilt = -200,
        OutOfMemory = -201,
        Internal = -202,
    }

    /// <summary>emx_solver.</summary>
    public enum Solver { Euler = 0, Heun = 1, EM = 2, PFEuler = 3 }

    /// <summary>emx_preset.</summary>
    public enum Preset { Emomix = 0, Blend = 1, Intensity = 2 }

    /// <summary>emx_curve: the shape of an emotion transition.</summary>
    public enum Curve { Linear = 0, Ease = 1, EaseIn = 2, EaseOut = 3, Step = 4 }

    /// <summary>A failed emomix call: Result is the code, Message the library's explanation.</summary>
    public class EmomixException : Exception
    {
        public Result Result { get; private set; }

        public EmomixException(Result result, string message) : base(message) { Result = result; }

        internal static Result Check(Result result, string function)
        {
            if (result == Result.Ok || result == Result.End) return result;
            string name = Utf8.FromPtr(Native.emx_result_string(result));
            string detail = Utf8.FromPtr(Native.emx_last_error());
            throw new EmomixException(result, function + ": " + name +
                                      (detail.Length > 0 ? ": " + detail : ""));
        }
    }

    /// <summary>One (name, weight) pair of an emotion mix or a speaker blend (emx_weight).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Weight
    {
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = Native.NameCapacity)]
        private byte[] name; // UTF-8, NUL-terminated
        public double Value;

        public Weight(string name, double value)
        {
            this.name = Utf8.ToFixed(name, Native.NameCapacity);
            Value = value;
        }

        public string Name
        {
            get { return Utf8.FromFixed(name); }
            set { name = Utf8.ToFixed(value, Native.NameCapacity); }
        }

        public override string ToString() { return Name + " " + Value.ToString("0.###"); }

        internal static Weight[] FromDictionary(IDictionary<string, double> weights, int max,
                                                string what)
        {
            if (weights == null) throw new ArgumentNullException(what);
            if (weights.Count > max)
                throw new ArgumentException(what + ": at most " + max + " entries", what);
            var list = new Weight[weights.Count];
            int i = 0;
            foreach (var kv in weights) list[i++] = new Weight(kv.Key, kv.Value);
            return list;
        }

        // A copy of the array in native memory (free it with Marshal.FreeHGlobal).
        internal static IntPtr ToNative(Weight[] weights)
        {
            int size = Marshal.SizeOf(typeof(Weight));
            IntPtr p = Marshal.AllocHGlobal(size * Math.Max(weights.Length, 1));
            for (int i = 0; i < weights.Length; i++)
                Marshal.StructureToPtr(weights[i], new IntPtr(p.ToInt64() + (long)i * size), false);
            return p;
        }
    }

    /// <summary>A mix at a position of a line (emx_keyframe).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Keyframe
    {
        public double Position; // in [0, 1], ascending across keyframes
        public uint EmotionCount;
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = Native.MaxEmotions)]
        public Weight[] Emotions;
    }

    /// <summary>
    /// Every setting of one line (emx_generation_config), field for field. Get one from
    /// Voice.DefaultConfig() (every default comes from the voice), change fields, pass it to
    /// Character.Say/SayBegin (which use its sampler fields; the character's emotion state and
    /// speaker decide the mix) or Voice.Synthesize (which uses all of it).
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct GenerationConfig
    {
        public uint StructSize;
        public uint EmotionCount; // 1 .. 16
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = Native.MaxEmotions)]
        public Weight[] Emotions;
        public uint KeyframeCount; // 0 .. 8; > 0 interpolates the keyframes per frame
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = Native.MaxKeyframes)]
        public Keyframe[] Keyframes;
        public double Intensity;    // 0 neutral, 1 the mix, up to 1.5
        public double EmotionScale; // the denoiser's extrapolation from neutral
        public uint SpeakerCount;   // 1 .. 8
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = Native.MaxSpeakers)]
        public Weight[] Speakers;
        public int Steps;           // sampler steps, 1 .. 64
        public int Solver;          // (int)Emomix.Solver
        public int Preset;          // (int)Emomix.Preset
        public double Temperature;  // > 0
        public double KMax, KMin;   // the emomix preset's window, 0 <= KMin <= KMax <= 1
        public double LengthScale;  // speaking time factor in [0.25, 4] (> 1 slower)
        public ulong Seed;          // the same seed, text and config give the same audio

        /// <summary>The mix (EmotionCount entries of Emotions) as name → weight.</summary>
        public void SetEmotions(IDictionary<string, double> mix)
        {
            var list = Weight.FromDictionary(mix, Native.MaxEmotions, "mix");
            Array.Copy(list, Emotions, list.Length);
            EmotionCount = (uint)list.Length;
        }

        /// <summary>The speaker blend (SpeakerCount entries of Speakers) as name → weight.</summary>
        public void SetSpeakers(IDictionary<string, double> blend)
        {
            var list = Weight.FromDictionary(blend, Native.MaxSpeakers, "blend");
            Array.Copy(list, Speakers, list.Length);
            SpeakerCount = (uint)list.Length;
        }
    }

    /// <summary>How a character makes its lines (emx_character_config).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct CharacterConfig
    {
        public uint StructSize;
        public uint SpeakerCount; // 0: the voice's default speaker
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = Native.MaxSpeakers)]
        public Weight[] Speakers;
        public int Threads;            // threads a line computes on, >= 1
        public int FirstBlockFrames;   // mel frames of a line's first block
        public int BlockFrames;        // 0: the whole line is one block
        public int ContextFrames;
        public int CrossfadeFrames;
        public int VocoderChunkFrames;

        /// <summary>The library's defaults.</summary>
        public static CharacterConfig Default()
        {
            var config = new CharacterConfig { Speakers = new Weight[Native.MaxSpeakers] };
            for (int i = 0; i < config.Speakers.Length; i++) config.Speakers[i] = new Weight("", 0);
            Native.emx_character_config_default(ref config);
            return config;
        }
    }

    /// <summary>One emotion of a voice with its valence, arousal, dominance (each in [-1, 1]).</summary>
    public sealed class EmotionInfo
    {
        public string Name { get; private set; }
        public double Valence { get; private set; }
        public double Arousal { get; private set; }
        public double Dominance { get; private set; }

        internal EmotionInfo(string name, double v, double a, double d)
        {
            Name = name; Valence = v; Arousal = a; Dominance = d;
        }

        public override string ToString() { return Name; }
    }

    /// <summary>Counters of a Stream (emx_stream_stats).</summary>
    public struct StreamStats
    {
        public ulong SamplesRead; // handed to Read's callers
        public ulong Underruns;   // Read calls that wanted audio a pending line had not made
        public uint QueuedLines;  // waiting or being made
        public Result LastError;  // of the last line that failed to render (Ok: none)
    }

    /// <summary>A loaded voice bundle. Immutable: share one between characters and threads.</summary>
    public sealed class Voice : IDisposable
    {
        internal readonly Native.VoiceHandle Handle;
        private static bool layoutChecked;
        private static readonly object LayoutLock = new object();

        private Voice(Native.VoiceHandle handle) { Handle = handle; }

        /// <summary>Loads the bundle directory (or its voice.json) at path, checking its hashes
        /// unless verifyHashes is false.</summary>
        public static Voice Load(string path, bool verifyHashes = true)
        {
            if (path == null) throw new ArgumentNullException("path");
            var config = new Native.VoiceConfig();
            Native.emx_voice_config_default(ref config);
            config.VerifyHashes = verifyHashes ? 1 : 0;
            Native.VoiceHandle handle;
            EmomixException.Check(Native.emx_voice_load(Utf8.ToNul(path), ref config, out handle),
                                  "emx_voice_load");
            var voice = new Voice(handle);
            CheckLayout(voice);
            return voice;
        }

        // The library's emx_generation_config_default writes struct_size = sizeof of its own
        // build: it must equal what this file marshals, or every config would be misread.
        private static void CheckLayout(Voice voice)
        {
            lock (LayoutLock)
            {
                if (layoutChecked) return;
                int ours = Marshal.SizeOf(typeof(GenerationConfig));
                IntPtr buffer = Marshal.AllocHGlobal(ours + 4096); // room for a larger library struct
                try
                {
                    EmomixException.Check(Native.emx_generation_config_default(voice.Handle, buffer),
                                          "emx_generation_config_default");
                    int theirs = Marshal.ReadInt32(buffer);
                    if (theirs != ours)
                        throw new EmomixException(Result.StructSize,
                            "emx_generation_config is " + theirs + " bytes in libemomix but " + ours +
                            " in Emomix.cs: use the Emomix.cs of the same emomix version as the library");
                }
                finally { Marshal.FreeHGlobal(buffer); }
                if (ABIVersion != Native.AbiVersion)
                    throw new EmomixException(Result.StructSize,
                        "libemomix has ABI " + ABIVersion + ", Emomix.cs " + Native.AbiVersion);
                layoutChecked = true;
            }
        }

        /// <summary>The library's version ("1.2.3").</summary>
        public static string LibraryVersion { get { return Utf8.FromPtr(Native.emx_version()); } }

        /// <summary>The library's EMX_ABI_VERSION.</summary>
        public static uint ABIVersion { get { return Native.emx_abi_version(); } }

        public string Name
        {
            get
            {
                IntPtr p;
                EmomixException.Check(Native.emx_voice_name(Handle, out p), "emx_voice_name");
                return Utf8.FromPtr(p);
            }
        }

        /// <summary>Samples per second of every line of this voice.</summary>
        public int SampleRate
        {
            get
            {
                uint rate;
                EmomixException.Check(Native.emx_voice_sample_rate(Handle, out rate),
                                      "emx_voice_sample_rate");
                return (int)rate;
            }
        }

        /// <summary>The voice's emotions, in its order.</summary>
        public IList<EmotionInfo> Emotions
        {
            get
            {
                UIntPtr count;
                EmomixException.Check(Native.emx_voice_emotion_count(Handle, out count),
                                      "emx_voice_emotion_count");
                var list = new List<EmotionInfo>();
                for (ulong i = 0; i < count.ToUInt64(); i++)
                {
                    var info = new Native.EmotionInfo();
                    info.StructSize = (uint)Marshal.SizeOf(typeof(Native.EmotionInfo));
                    EmomixException.Check(Native.emx_voice_emotion(Handle, new UIntPtr(i), ref info),
                                          "emx_voice_emotion");
                    list.Add(new EmotionInfo(Utf8.FromPtr(info.Name), info.Valence, info.Arousal,
                                             info.Dominance));
                }
                return list.AsReadOnly();
            }
        }

        /// <summary>The voice's speaker names, in its order.</summary>
        public IList<string> Speakers
        {
            get
            {
                UIntPtr count;
                EmomixException.Check(Native.emx_voice_speaker_count(Handle, out count),
                                      "emx_voice_speaker_count");
                var list = new List<string>();
                for (ulong i = 0; i < count.ToUInt64(); i++)
                {
                    IntPtr p;
                    EmomixException.Check(Native.emx_voice_speaker(Handle, new UIntPtr(i), out p),
                                          "emx_voice_speaker");
                    list.Add(Utf8.FromPtr(p));
                }
                return list.AsReadOnly();
            }
        }

        public string DefaultSpeaker
        {
            get
            {
                IntPtr p;
                EmomixException.Check(Native.emx_voice_default_speaker(Handle, out p),
                                      "emx_voice_default_speaker");
                return Utf8.FromPtr(p);
            }
        }

        /// <summary>A generation config with every default from this voice.</summary>
        public GenerationConfig DefaultConfig()
        {
            var config = Native.EmptyGenerationConfig();
            EmomixException.Check(Native.emx_generation_config_default(Handle, ref config),
                                  "emx_generation_config_default");
            return config;
        }

        /// <summary>A whole line from a config alone (its mix, keyframes, speakers).</summary>
        public float[] Synthesize(string text, GenerationConfig config, int threads = 1)
        {
            var audio = new Native.Audio();
            EmomixException.Check(Native.emx_voice_synthesize(Handle, Utf8.ToNul(text), ref config,
                                                               threads, ref audio),
                                  "emx_voice_synthesize");
            return Native.TakeAudio(ref audio);
        }

        public void Dispose() { Handle.Dispose(); }
    }

    /// <summary>A speaker (or a blend) and an emotion state on a voice, with its own clock in
    /// seconds that times transitions: Advance moves it, and so does the audio its lines make.
    /// Setters may be called from any thread, also while a line of it is read.</summary>
    public sealed class Character : IDisposable
    {
        internal readonly Native.CharacterHandle Handle;

        private Character(Native.CharacterHandle handle) { Handle = handle; }

        /// <summary>A neutral character at intensity 1 and clock 0.</summary>
        public static Character Create(Voice voice)
        {
            if (voice == null) throw new ArgumentNullException("voice");
            Native.CharacterHandle handle;
            EmomixException.Check(Native.emx_character_create(voice.Handle, IntPtr.Zero, out handle),
                                  "emx_character_create");
            return new Character(handle);
        }

        /// <summary>A neutral character made as config says (start from CharacterConfig.Default()).</summary>
        public static Character Create(Voice voice, CharacterConfig config)
        {
            if (voice == null) throw new ArgumentNullException("voice");
            Native.CharacterHandle handle;
            EmomixException.Check(Native.emx_character_create(voice.Handle, ref config, out handle),
                                  "emx_character_create");
            return new Character(handle);
        }

        /// <summary>The speaker blend (name → weight, normalised) for lines begun from now on.</summary>
        public void SetSpeakers(IDictionary<string, double> blend)
        {
            var list = Weight.FromDictionary(blend, Native.MaxSpeakers, "blend");
            IntPtr p = Weight.ToNative(list);
            try
            {
                EmomixException.Check(Native.emx_character_set_speakers(Handle, p,
                                                                        new UIntPtr((uint)list.Length)),
                                      "emx_character_set_speakers");
            }
            finally { Marshal.FreeHGlobal(p); }
        }

        public void SetSpeaker(string name)
        {
            SetSpeakers(new Dictionary<string, double> { { name, 1.0 } });
        }

        /// <summary>The emotion mix (name → weight, normalised); cancels a running transition.</summary>
        public void SetMix(IDictionary<string, double> mix)
        {
            var list = Weight.FromDictionary(mix, Native.MaxEmotions, "mix");
            IntPtr p = Weight.ToNative(list);
            try
            {
                EmomixException.Check(Native.emx_character_set_mix(Handle, p,
                                                                   new UIntPtr((uint)list.Length)),
                                      "emx_character_set_mix");
            }
            finally { Marshal.FreeHGlobal(p); }
        }

        /// <summary>One emotion at intensity (0 .. 1.5).</summary>
        public void SetEmotion(string name, double intensity = 1.0)
        {
            EmomixException.Check(Native.emx_character_set_emotion(Handle, Utf8.ToNul(name), intensity),
                                  "emx_character_set_emotion");
        }

        /// <summary>0 neutral, 1 the mix, up to 1.5 exaggerated; the mix is kept.</summary>
        public void SetIntensity(double intensity)
        {
            EmomixException.Check(Native.emx_character_set_intensity(Handle, intensity),
                                  "emx_character_set_intensity");
        }

        /// <summary>The emotions nearest a point of the valence/arousal plane (each in [-1, 1]).</summary>
        public void SetValenceArousal(double valence, double arousal)
        {
            EmomixException.Check(Native.emx_character_set_valence_arousal(Handle, valence, arousal),
                                  "emx_character_set_valence_arousal");
        }

        /// <summary>From the emotion state now to target (name → weight) over seconds of the
        /// character's clock along curve; intensity &lt; 0 keeps the intensity now.</summary>
        public void TransitionTo(IDictionary<string, double> target, double seconds,
                                 Curve curve = Curve.Ease, double intensity = -1.0)
        {
            var list = Weight.FromDictionary(target, Native.MaxEmotions, "target");
            IntPtr p = Weight.ToNative(list);
            try
            {
                EmomixException.Check(Native.emx_character_transition_to(
                                          Handle, p, new UIntPtr((uint)list.Length), intensity,
                                          seconds, curve),
                                      "emx_character_transition_to");
            }
            finally { Marshal.FreeHGlobal(p); }
        }

        public void TransitionTo(string emotion, double seconds, Curve curve = Curve.Ease,
                                 double intensity = -1.0)
        {
            TransitionTo(new Dictionary<string, double> { { emotion, 1.0 } }, seconds, curve,
                         intensity);
        }

        /// <summary>Moves the clock forward by seconds (&gt;= 0) of game time.</summary>
        public void Advance(double seconds)
        {
            EmomixException.Check(Native.emx_character_advance(Handle, seconds),
                                  "emx_character_advance");
        }

        /// <summary>The clock, in seconds.</summary>
        public double Time
        {
            get
            {
                double t;
                EmomixException.Check(Native.emx_character_time(Handle, out t), "emx_character_time");
                return t;
            }
        }

        /// <summary>The mix at the clock now (name → weight, largest first) and its intensity.</summary>
        public IList<Weight> Mix(out double intensity)
        {
            var buffer = new Native.WeightBuffer(Native.MaxEmotions);
            try
            {
                UIntPtr n;
                EmomixException.Check(Native.emx_character_mix(Handle, buffer.Pointer,
                                                               new UIntPtr((uint)Native.MaxEmotions),
                                                               out n, out intensity),
                                      "emx_character_mix");
                return buffer.Read((int)Math.Min(n.ToUInt64(), (ulong)Native.MaxEmotions));
            }
            finally { buffer.Dispose(); }
        }

        /// <summary>Whether a transition is running.</summary>
        public bool Transitioning
        {
            get
            {
                int on;
                EmomixException.Check(Native.emx_character_transitioning(Handle, out on),
                                      "emx_character_transitioning");
                return on != 0;
            }
        }

        /// <summary>A whole line at once (the same audio as reading SayBegin's line to its end).</summary>
        public float[] Say(string text)
        {
            var audio = new Native.Audio();
            EmomixException.Check(Native.emx_character_say(Handle, Utf8.ToNul(text), IntPtr.Zero,
                                                            ref audio),
                                  "emx_character_say");
            return Native.TakeAudio(ref audio);
        }

        /// <summary>Say with the config's sampler fields (its mix and speakers are ignored).</summary>
        public float[] Say(string text, GenerationConfig config)
        {
            var audio = new Native.Audio();
            EmomixException.Check(Native.emx_character_say(Handle, Utf8.ToNul(text), ref config,
                                                            ref audio),
                                  "emx_character_say");
            return Native.TakeAudio(ref audio);
        }

        /// <summary>Begins a line: the text is checked now, the audio is made as it is read.</summary>
        public Line SayBegin(string text)
        {
            Native.LineHandle handle;
            EmomixException.Check(Native.emx_character_say_begin(Handle, Utf8.ToNul(text),
                                                                  IntPtr.Zero, out handle),
                                  "emx_character_say_begin");
            return new Line(handle);
        }

        /// <summary>SayBegin with the config's sampler fields (its mix and speakers are ignored).</summary>
        public Line SayBegin(string text, GenerationConfig config)
        {
            Native.LineHandle handle;
            EmomixException.Check(Native.emx_character_say_begin(Handle, Utf8.ToNul(text),
                                                                  ref config, out handle),
                                  "emx_character_say_begin");
            return new Line(handle);
        }

        public void Dispose() { Handle.Dispose(); }
    }

    /// <summary>One line being spoken, pulled by one thread at a time.</summary>
    public sealed class Line : IDisposable
    {
        internal readonly Native.LineHandle Handle;

        internal Line(Native.LineHandle handle) { Handle = handle; }

        /// <summary>Samples of the whole line.</summary>
        public int Length
        {
            get
            {
                UIntPtr n;
                EmomixException.Check(Native.emx_line_length(Handle, out n), "emx_line_length");
                return (int)n.ToUInt64();
            }
        }

        /// <summary>Reads up to buffer.Length samples into buffer; returns how many, 0 once the
        /// line has ended. May return fewer than asked before the end (at a block's end). The
        /// audio is made here, on the caller's thread.</summary>
        public int Read(float[] buffer)
        {
            if (buffer == null) throw new ArgumentNullException("buffer");
            UIntPtr written;
            EmomixException.Check(Native.emx_line_read(Handle, buffer,
                                                       new UIntPtr((uint)buffer.Length), out written),
                                  "emx_line_read");
            return (int)written.ToUInt64();
        }

        /// <summary>Reads up to count samples into buffer[offset ..]; as Read(buffer).</summary>
        public int Read(float[] buffer, int offset, int count)
        {
            Native.CheckRange(buffer, offset, count);
            GCHandle pin = GCHandle.Alloc(buffer, GCHandleType.Pinned);
            try
            {
                IntPtr at = new IntPtr(pin.AddrOfPinnedObject().ToInt64() + 4L * offset);
                UIntPtr written;
                EmomixException.Check(Native.emx_line_read(Handle, at, new UIntPtr((uint)count),
                                                           out written),
                                      "emx_line_read");
                return (int)written.ToUInt64();
            }
            finally { pin.Free(); }
        }

        /// <summary>The rest of the line.</summary>
        public float[] ReadToEnd()
        {
            var all = new List<float>();
            var block = new float[4096];
            int n;
            while ((n = Read(block)) > 0)
                for (int i = 0; i < n; i++) all.Add(block[i]);
            return all.ToArray();
        }

        public void Dispose() { Handle.Dispose(); }
    }

    /// <summary>A character's lines rendered by a producer thread of the library's into a ring
    /// that an engine's audio thread drains with Read (which never allocates, locks or blocks).
    /// Queue, Interrupt, Stats and Stop from any other thread.</summary>
    public sealed class Stream : IDisposable
    {
        internal readonly Native.StreamHandle Handle;

        private Stream(Native.StreamHandle handle) { Handle = handle; }

        /// <summary>A stream of character's lines; capacitySamples 0 and maxQueuedLines 0 are
        /// the library's defaults (2 s of audio, 16 lines).</summary>
        public static Stream Create(Character character, int capacitySamples = 0,
                                    int maxQueuedLines = 0)
        {
            if (character == null) throw new ArgumentNullException("character");
            var config = new Native.StreamConfig();
            Native.emx_stream_config_default(ref config);
            if (capacitySamples > 0) config.CapacitySamples = (uint)capacitySamples;
            if (maxQueuedLines > 0) config.MaxQueuedLines = (uint)maxQueuedLines;
            Native.StreamHandle handle;
            EmomixException.Check(Native.emx_stream_create(character.Handle, ref config, out handle),
                                  "emx_stream_create");
            return new Stream(handle);
        }

        /// <summary>Queues a line; it plays after those queued before.</summary>
        public void Queue(string text)
        {
            EmomixException.Check(Native.emx_stream_queue(Handle, Utf8.ToNul(text), IntPtr.Zero),
                                  "emx_stream_queue");
        }

        public void Queue(string text, GenerationConfig config)
        {
            EmomixException.Check(Native.emx_stream_queue(Handle, Utf8.ToNul(text), ref config),
                                  "emx_stream_queue");
        }

        /// <summary>Drops the line playing and every queued one.</summary>
        public void Interrupt()
        {
            EmomixException.Check(Native.emx_stream_interrupt(Handle), "emx_stream_interrupt");
        }

        /// <summary>The audio thread's call: fills the whole buffer with the next samples
        /// (silence after the audio available); written gets the audio samples in it. Returns
        /// false when nothing is queued or playing and the ring is empty.</summary>
        public bool Read(float[] buffer, out int written)
        {
            if (buffer == null) throw new ArgumentNullException("buffer");
            UIntPtr n;
            Result r = EmomixException.Check(
                Native.emx_stream_read(Handle, buffer, new UIntPtr((uint)buffer.Length), out n),
                "emx_stream_read");
            written = (int)n.ToUInt64();
            return r != Result.End;
        }

        public StreamStats Stats
        {
            get
            {
                var s = new Native.StreamStatsNative();
                s.StructSize = (uint)Marshal.SizeOf(typeof(Native.StreamStatsNative));
                EmomixException.Check(Native.emx_stream_stats_get(Handle, ref s),
                                      "emx_stream_stats_get");
                return new StreamStats { SamplesRead = s.SamplesRead, Underruns = s.Underruns,
                                         QueuedLines = s.QueuedLines,
                                         LastError = (Result)s.LastError };
            }
        }

        /// <summary>Stops the producer thread; Queue and Read then throw Result.Stopped.</summary>
        public void Stop() { EmomixException.Check(Native.emx_stream_stop(Handle), "emx_stream_stop"); }

        public void Dispose() { Handle.Dispose(); }
    }

    // UTF-8 in and out: strings cross the C ABI as UTF-8 on every platform (Marshal's "Ansi" is
    // the code page on Windows).
    internal static class Utf8
    {
        internal static byte[] ToNul(string s)
        {
            if (s == null) throw new ArgumentNullException("string");
            var bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
            Encoding.UTF8.GetBytes(s, 0, s.Length, bytes, 0);
            return bytes;
        }

        internal static byte[] ToFixed(string s, int capacity)
        {
            var bytes = ToNul(s ?? "");
            if (bytes.Length > capacity)
                throw new ArgumentException("the name '" + s + "' is longer than " + (capacity - 1) +
                                            " UTF-8 bytes");
            var fixedBytes = new byte[capacity];
            Array.Copy(bytes, fixedBytes, bytes.Length);
            return fixedBytes;
        }

        internal static string FromFixed(byte[] bytes)
        {
            if (bytes == null) return "";
            int n = Array.IndexOf(bytes, (byte)0);
            return Encoding.UTF8.GetString(bytes, 0, n < 0 ? bytes.Length : n);
        }

        internal static string FromPtr(IntPtr p)
        {
            if (p == IntPtr.Zero) return "";
            int n = 0;
            while (Marshal.ReadByte(p, n) != 0) n++;
            var bytes = new byte[n];
            Marshal.Copy(p, bytes, 0, n);
            return Encoding.UTF8.GetString(bytes);
        }
    }

    // The C ABI itself. DllImport("emomix") resolves to libemomix.so / emomix.dll /
    // libemomix.dylib on the runtime's library path.
    internal static class Native
    {
        private const string Lib = "emomix";
        internal const uint AbiVersion = 1;     // EMX_ABI_VERSION
        internal const int NameCapacity = 32;   // EMX_NAME_CAPACITY
        internal const int MaxEmotions = 16;    // EMX_MAX_EMOTIONS
        internal const int MaxKeyframes = 8;    // EMX_MAX_KEYFRAMES
        internal const int MaxSpeakers = 8;     // EMX_MAX_SPEAKERS

        internal sealed class VoiceHandle : SafeHandle
        {
            private VoiceHandle() : base(IntPtr.Zero, true) { }
            public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
            protected override bool ReleaseHandle() { emx_voice_free(handle); return true; }
        }

        internal sealed class CharacterHandle : SafeHandle
        {
            private CharacterHandle() : base(IntPtr.Zero, true) { }
            public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
            protected override bool ReleaseHandle() { emx_character_free(handle); return true; }
        }

        internal sealed class LineHandle : SafeHandle
        {
            private LineHandle() : base(IntPtr.Zero, true) { }
            public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
            protected override bool ReleaseHandle() { emx_line_free(handle); return true; }
        }

        internal sealed class StreamHandle : SafeHandle
        {
            private StreamHandle() : base(IntPtr.Zero, true) { }
            public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
            protected override bool ReleaseHandle() { emx_stream_free(handle); return true; }
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct VoiceConfig
        {
            public uint StructSize;
            public int VerifyHashes;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct EmotionInfo
        {
            public uint StructSize;
            public IntPtr Name;
            public double Valence, Arousal, Dominance;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct Audio
        {
            public IntPtr Samples;
            public UIntPtr SampleCount;
            public uint SampleRate;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct StreamConfig
        {
            public uint StructSize;
            public uint CapacitySamples;
            public uint MaxQueuedLines;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct StreamStatsNative
        {
            public uint StructSize;
            public ulong SamplesRead;
            public ulong Underruns;
            public uint QueuedLines;
            public int LastError;
        }

        // Weights written by the library (emx_character_mix).
        internal sealed class WeightBuffer : IDisposable
        {
            internal readonly IntPtr Pointer;
            private readonly int size = Marshal.SizeOf(typeof(Weight));

            internal WeightBuffer(int capacity) { Pointer = Marshal.AllocHGlobal(size * capacity); }

            internal IList<Weight> Read(int n)
            {
                var list = new List<Weight>();
                for (int i = 0; i < n; i++)
                    list.Add((Weight)Marshal.PtrToStructure(
                        new IntPtr(Pointer.ToInt64() + (long)i * size), typeof(Weight)));
                return list.AsReadOnly();
            }

            public void Dispose() { Marshal.FreeHGlobal(Pointer); }
        }

        // A config whose arrays have their fixed sizes (the marshaller needs them to write it).
        internal static GenerationConfig EmptyGenerationConfig()
        {
            var c = new GenerationConfig
            {
                Emotions = EmptyWeights(MaxEmotions),
                Keyframes = new Keyframe[MaxKeyframes],
                Speakers = EmptyWeights(MaxSpeakers),
            };
            for (int i = 0; i < MaxKeyframes; i++) c.Keyframes[i].Emotions = EmptyWeights(MaxEmotions);
            return c;
        }

        private static Weight[] EmptyWeights(int n)
        {
            var w = new Weight[n];
            for (int i = 0; i < n; i++) w[i] = new Weight("", 0);
            return w;
        }

        // Copies library-owned audio into a managed array and frees it.
        internal static float[] TakeAudio(ref Audio audio)
        {
            try
            {
                var samples = new float[(int)audio.SampleCount.ToUInt64()];
                if (samples.Length > 0) Marshal.Copy(audio.Samples, samples, 0, samples.Length);
                return samples;
            }
            finally { emx_audio_free(ref audio); }
        }

        internal static void CheckRange(float[] buffer, int offset, int count)
        {
            if (buffer == null) throw new ArgumentNullException("buffer");
            if (offset < 0 || count < 0 || offset > buffer.Length - count)
                throw new ArgumentOutOfRangeException("offset", "offset/count outside the buffer");
        }

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr emx_result_string(Result result);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr emx_last_error();
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr emx_version();
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint emx_abi_version();

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void emx_voice_config_default(ref VoiceConfig config);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_voice_load(byte[] path, ref VoiceConfig config,
                                                     out VoiceHandle voice);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void emx_voice_free(IntPtr voice);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_voice_name(VoiceHandle voice, out IntPtr name);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_voice_sample_rate(VoiceHandle voice, out uint rate);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_voice_emotion_count(VoiceHandle voice, out UIntPtr n);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_voice_emotion(VoiceHandle voice, UIntPtr index,
                                                        ref EmotionInfo info);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_voice_speaker_count(VoiceHandle voice, out UIntPtr n);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_voice_speaker(VoiceHandle voice, UIntPtr index,
                                                        out IntPtr name);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_voice_default_speaker(VoiceHandle voice, out IntPtr name);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_generation_config_default(VoiceHandle voice,
                                                                    ref GenerationConfig config);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_generation_config_default(VoiceHandle voice, IntPtr config);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void emx_audio_free(ref Audio audio);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_voice_synthesize(VoiceHandle voice, byte[] text,
                                                           [In] ref GenerationConfig config, int threads,
                                                           ref Audio audio);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void emx_character_config_default(ref CharacterConfig config);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_character_create(VoiceHandle voice, IntPtr config,
                                                           out CharacterHandle character);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_character_create(VoiceHandle voice,
                                                           [In] ref CharacterConfig config,
                                                           out CharacterHandle character);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void emx_character_free(IntPtr character);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_character_set_speakers(CharacterHandle character,
                                                                 IntPtr speakers, UIntPtr n);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_character_set_mix(CharacterHandle character,
                                                            IntPtr weights, UIntPtr n);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_character_set_emotion(CharacterHandle character,
                                                                byte[] name, double intensity);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_character_set_intensity(CharacterHandle character,
                                                                  double intensity);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_character_set_valence_arousal(CharacterHandle character,
                                                                        double valence,
                                                                        double arousal);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_character_transition_to(CharacterHandle character,
                                                                  IntPtr target, UIntPtr n,
                                                                  double intensity, double seconds,
                                                                  Curve curve);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_character_advance(CharacterHandle character,
                                                            double seconds);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_character_time(CharacterHandle character,
                                                         out double seconds);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_character_mix(CharacterHandle character, IntPtr output,
                                                        UIntPtr capacity, out UIntPtr n,
                                                        out double intensity);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_character_transitioning(CharacterHandle character,
                                                                  out int on);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_character_say_begin(CharacterHandle character,
                                                              byte[] text, IntPtr config,
                                                              out LineHandle line);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_character_say_begin(CharacterHandle character,
                                                              byte[] text,
                                                              [In] ref GenerationConfig config,
                                                              out LineHandle line);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_line_read(LineHandle line, [Out] float[] output,
                                                    UIntPtr max, out UIntPtr written);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_line_read(LineHandle line, IntPtr output, UIntPtr max,
                                                    out UIntPtr written);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_line_length(LineHandle line, out UIntPtr samples);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void emx_line_free(IntPtr line);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_character_say(CharacterHandle character, byte[] text,
                                                        IntPtr config, ref Audio audio);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_character_say(CharacterHandle character, byte[] text,
                                                        [In] ref GenerationConfig config,
                                                        ref Audio audio);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void emx_stream_config_default(ref StreamConfig config);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_stream_create(CharacterHandle character,
                                                        ref StreamConfig config,
                                                        out StreamHandle stream);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_stream_queue(StreamHandle stream, byte[] text,
                                                       IntPtr config);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_stream_queue(StreamHandle stream, byte[] text,
                                                       [In] ref GenerationConfig config);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_stream_interrupt(StreamHandle stream);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_stream_read(StreamHandle stream, [Out] float[] output,
                                                      UIntPtr n, out UIntPtr written);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_stream_stats_get(StreamHandle stream,
                                                           ref StreamStatsNative stats);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Result emx_stream_stop(StreamHandle stream);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void emx_stream_free(IntPtr stream);
    }
}
