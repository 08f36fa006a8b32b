Console.WriteLine("CudaNn");
