// csharp_console — an emotion blend that changes mid-line, through bindings/csharp/Emomix.cs.
//
//     mono sample.exe [VOICE_DIR] [OUT_WAV]      (defaults: voices/default, csharp_console.wav)
//
// A character speaks happy 0.6 + surprise 0.4. After about half of the line has been read, it
// turns sad over 0.5 s of its clock (the clock moves with the audio read), so the blocks made
// from then on carry the new emotion. The line is written to a mono 16-bit WAV.

using System;
using System.Collections.Generic;
using System.IO;
using Emomix;

internal static class Program
{
    private const string Text =
        "What a wonderful surprise to see you here, but I am afraid the news is not good.";

    private static int Main(string[] args)
    {
        string voicePath = args.Length > 0 ? args[0] : "voices/default";
        string outPath = args.Length > 1 ? args[1] : "csharp_console.wav";
        try
        {
            Run(voicePath, outPath);
            return 0;
        }
        catch (EmomixException e)
        {
            Console.Error.WriteLine("csharp_console: " + e.Message + " (" + e.Result + ")");
            return 1;
        }
        catch (DllNotFoundException e)
        {
            Console.Error.WriteLine("csharp_console: libemomix not found (" + e.Message + "): " +
                                    "run with LD_LIBRARY_PATH=$(dirname $(emomix config --lib))");
            return 1;
        }
    }

    private static void Run(string voicePath, string outPath)
    {
        using (var voice = Voice.Load(voicePath))
        using (var character = Character.Create(voice))
        {
            Console.WriteLine("voice " + voice.Name + ", " + voice.SampleRate + " Hz (emomix " +
                              Voice.LibraryVersion + "), emotions: " +
                              string.Join(", ", voice.Emotions) + "; speaker " + voice.DefaultSpeaker);

            character.SetMix(new Dictionary<string, double> { { "happy", 0.6 }, { "surprise", 0.4 } });
            PrintMix("start", character);

            var samples = new List<float>();
            var block = new float[1024];
            using (var line = character.SayBegin(Text))
            {
                int half = line.Length / 2;
                int n;
                while (samples.Count < half && (n = line.Read(block)) > 0) Append(samples, block, n);

                Console.WriteLine(string.Format("{0:0.00} s: turning sad over 0.5 s",
                                                character.Time));
                character.TransitionTo("sad", 0.5, Curve.Ease);

                while ((n = line.Read(block)) > 0) Append(samples, block, n);
            }
            PrintMix("end", character);

            WriteWav(outPath, samples, voice.SampleRate);
            Console.WriteLine(string.Format("{0:0.00} s of audio -> {1}",
                                            samples.Count / (double)voice.SampleRate, outPath));
        }
    }

    private static void Append(List<float> samples, float[] block, int n)
    {
        for (int i = 0; i < n; i++) samples.Add(block[i]);
    }

    private static void PrintMix(string when, Character character)
    {
        double intensity;
        var mix = character.Mix(out intensity);
        Console.WriteLine(string.Format("{0} ({1:0.00} s): {2}, intensity {3:0.##}", when,
                                        character.Time, string.Join(" + ", mix), intensity));
    }

    // A mono 16-bit PCM WAV.
    private static void WriteWav(string path, List<float> samples, int sampleRate)
    {
        using (var w = new BinaryWriter(File.Create(path)))
        {
            int dataBytes = samples.Count * 2;
            w.Write(new[] { 'R', 'I', 'F', 'F' });
            w.Write(36 + dataBytes);
            w.Write(new[] { 'W', 'A', 'V', 'E', 'f', 'm', 't', ' ' });
            w.Write(16);                // fmt chunk size
            w.Write((short)1);          // PCM
            w.Write((short)1);          // mono
            w.Write(sampleRate);
            w.Write(sampleRate * 2);    // bytes per second
            w.Write((short)2);          // bytes per frame
            w.Write((short)16);         // bits per sample
            w.Write(new[] { 'd', 'a', 't', 'a' });
            w.Write(dataBytes);
            foreach (float x in samples)
            {
                float c = x > 1f ? 1f : (x > -1f ? x : -1f); // also maps NaN to -1
                w.Write((short)(c * 32767f));
            }
        }
    }
}
